#!/usr/bin/env bash
# Installs the offline data the `quick` profile uses, where the platform allows it:
# Fashion-MNIST from Debian's `dataset-fashion-mnist` (root + apt-get). Elsewhere the loader falls back to the
# Keras cache and then to a download, so this script never fails a build on its own.
set -u
target=/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz
if [ -f "$target" ]; then
  echo "Fashion-MNIST: found $target"
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Fashion-MNIST: installing Debian's dataset-fashion-mnist"
  export DEBIAN_FRONTEND=noninteractive
  (apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist) >/dev/null 2>&1 \
    || echo "Fashion-MNIST: apt-get could not install dataset-fashion-mnist; the loader will download it"
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "Fashion-MNIST: not installed. For offline use: sudo apt-get install dataset-fashion-mnist"
else
  echo "Fashion-MNIST: no apt here; the loader will use the Keras cache or download it"
fi
exit 0

#!/usr/bin/env bash
# Installs the browser the real-client test drives (tests/test_browser.py): Debian's `chromium` and
# `chromium-driver`, where we are root with apt-get. selenium (requirements) drives this system chromedriver; no
# browser build is downloaded. Elsewhere it says what to install and exits 0: outside CI the test then skips, in CI
# (CI=true) it fails, so a CI image without the browser cannot pass silently.
set -u
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  echo "Browser: found $(command -v chromium) and $(command -v chromedriver)"
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Browser: installing Debian's chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  if (apt-get update -qq && apt-get install -y -qq chromium chromium-driver) >/dev/null 2>&1; then
    echo "Browser: installed $(command -v chromium) and $(command -v chromedriver)"
  else
    echo "Browser: apt-get could not install chromium chromium-driver; tests/test_browser.py will skip (fail in CI)"
  fi
elif command -v sudo >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  echo "Browser: not installed. For the browser test: sudo apt-get install chromium chromium-driver"
else
  echo "Browser: no apt here. For the browser test install Chromium and its chromedriver (same version) on PATH"
  echo "         (macOS: brew install --cask chromium chromedriver); tests/test_browser.py skips without them"
fi
exit 0

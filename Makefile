# keras-transfer: `make demo` and `make test` do all the set-up on a fresh machine.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
export PYTHONUNBUFFERED := 1
export TF_CPP_MIN_LOG_LEVEL ?= 2
export MPLBACKEND ?= Agg

.PHONY: demo test unit unit-tf unit-jax test-keras-oldest notebooks-smoke browser notebooks site bench bench-workers data install lab doctor gpu clean help

help:
	@echo "make demo   - set up, fetch offline data, run the flagship experiment (quick profile)"
	@echo "make test   - the whole test suite: unit tests on TensorFlow and JAX, every notebook (smoke)"
	@echo "make test-keras-oldest - the copyable core files on the oldest supported Keras (part of make test)"
	@echo "make bench  - the benchmarks, one JSON line each"
	@echo "make bench-workers - quick experiments over 2 Ray workers against one after another (SEEDS=0: one seed)"
	@echo "make lab    - JupyterLab on notebooks/"
	@echo "make site   - an HTML book of the executed notebooks in build/notebooks/PROFILE (after make notebooks)"
	@echo "make doctor - check this machine for the notebooks: versions, data, caches, time estimates"
	@echo "make gpu    - swap tensorflow-cpu for TensorFlow with CUDA (Linux with an NVIDIA GPU)"

$(STAMP): requirements.txt requirements/base.txt requirements/hub.txt requirements/hub-no-deps.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	$(PIP) install --quiet --no-deps -r requirements/hub-no-deps.txt
	$(PIP) install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --env TF_CPP_MIN_LOG_LEVEL 2 >/dev/null
	touch $(STAMP)

install: $(STAMP)

# Fashion-MNIST offline: Debian's dataset-fashion-mnist where we are root with apt; elsewhere the loader downloads.
data: $(STAMP)
	@bash data/install-offline-data.sh

demo: data
	$(PY) -m keras_transfer run models-1-4 --profile quick --live

# The tests run in TEST_WORKERS processes (pytest-xdist; CI has 2 cores; TEST_WORKERS=0: all in this process). Unit
# tests go out a module at a time (module fixtures are built once); notebooks one at a time, idle workers stealing.
TEST_WORKERS ?= 2
PYTEST := $(PY) -m pytest -q -n $(TEST_WORKERS)

unit-tf: data
	KERAS_BACKEND=tensorflow $(PYTEST) --dist loadscope -m "not notebook" tests

unit-jax: data
	KERAS_BACKEND=jax $(PYTEST) --dist loadscope -m "multibackend and not notebook" tests

# The copyable core files on the oldest Keras the README supports (pyproject.toml: keras>=$(KERAS_OLDEST)): that Keras
# alone, without its dependencies, in a folder put first on PYTHONPATH, so this venv's TensorFlow, JAX and NumPy are
# reused; the copy-alone tests and the core files' docstring examples on JAX and TensorFlow. KT_EXPECT_KERAS makes
# every test check that it really runs on that version.
KERAS_OLDEST     := 3.10.0
KERAS_OLDEST_DIR := $(CURDIR)/build/keras-$(KERAS_OLDEST)
OLDEST_TESTS     := tests/test_copy_alone.py tests/test_docstring_examples.py

$(KERAS_OLDEST_DIR)/.installed: $(STAMP)
	rm -rf $(KERAS_OLDEST_DIR)
	$(PIP) install --quiet --no-deps --target $(KERAS_OLDEST_DIR) keras==$(KERAS_OLDEST)
	touch $@

OLDEST_ENV       := KT_EXPECT_KERAS=$(KERAS_OLDEST) PYTHONPATH=$(KERAS_OLDEST_DIR)

test-keras-oldest: $(KERAS_OLDEST_DIR)/.installed
	$(OLDEST_ENV) KERAS_BACKEND=jax $(PYTEST) --dist load -m multibackend $(OLDEST_TESTS)
	$(OLDEST_ENV) KERAS_BACKEND=tensorflow $(PYTEST) --dist load -m multibackend $(OLDEST_TESTS)

# The smoke notebook run is kept in SMOKE_RUN (executed copies, results, data), so that the browser test opens the
# notebooks in JupyterLab and loads their results instead of training again.
SMOKE_RUN := $(CURDIR)/build/test-smoke

notebooks-smoke: data
	rm -rf $(SMOKE_RUN)
	KT_SMOKE_RUN=$(SMOKE_RUN) KERAS_BACKEND=tensorflow $(PYTEST) --dist worksteal -m "notebook and not browser" tests

# JupyterLab and headless Chromium (Debian's, installed where we are root with apt) on the smoke run above.
browser: data
	@bash data/install-browser.sh
	KT_SMOKE_RUN=$(SMOKE_RUN) KERAS_BACKEND=tensorflow $(PY) -m pytest -q -p no:xdist -m browser tests/test_browser.py

unit: unit-tf unit-jax

test: doctor unit-tf unit-jax test-keras-oldest notebooks-smoke browser

notebooks: data
	$(PY) -m keras_transfer notebooks --profile $(or $(PROFILE),quick) --results $(or $(RESULTS),auto) $(if $(LIVE),--live,)

site: $(STAMP)
	$(PY) -m keras_transfer site --profile $(or $(PROFILE),quick)

bench: data
	@$(PY) benchmarks/run_all.py

# Independent networks over Ray workers against one after another (issue 28): quick transferability and models-1-4,
# most of an hour on 2 cores; SEEDS=0 runs one seed of each. Not part of make bench.
bench-workers: data
	@$(PY) benchmarks/workers.py --workers $(or $(WORKERS),2) $(if $(SEEDS),--seeds $(SEEDS),)

lab: data
	$(VENV)/bin/jupyter lab notebooks/

doctor: $(STAMP)
	$(PY) -m keras_transfer doctor

# One TensorFlow package at a time: remove the CPU one before installing the CUDA one.
gpu: $(STAMP)
	$(PIP) uninstall --yes tensorflow-cpu tensorflow
	$(PIP) install --quiet -r requirements-gpu.txt
	$(PY) -m keras_transfer doctor

clean:
	rm -rf build results .pytest_cache

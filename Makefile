# s2mask: two commands on a fresh Debian machine with Python 3.11.
#   make demo   set everything up, then run the processor on a product it generates itself
#   make test   set everything up, then run the linters and the test suite
#   make bench  set everything up, then run the benchmarks under bench/ (prints figures)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.s2mask-installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO_DIR ?= demo-output

.PHONY: demo test bench setup lint clean

setup: $(STAMP)

$(STAMP): setup.py Makefile
	@if ! command -v gdal-config >/dev/null; then \
		echo "installing Debian's GDAL (libgdal-dev, gdal-bin)"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq libgdal-dev gdal-bin; \
	fi
	@if ! $(PYTHON) -c "import ensurepip, sysconfig, os; assert os.path.exists(sysconfig.get_paths()['include'] + '/Python.h')" 2>/dev/null; then \
		echo "installing Python's venv and headers"; \
		$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3-venv python3-dev; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip setuptools wheel
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q numpy
	# GDAL's bindings compile against Debian's libgdal; without build isolation they see numpy (gdal_array).
	$(PY) -m pip install -q --no-build-isolation --no-cache-dir gdal==$$(gdal-config --version)
	$(PY) -m pip install -q -e ".[test,batch]"
	@touch $(STAMP)

demo: setup
	$(VENV)/bin/s2mask demo --output $(DEMO_DIR)

lint: setup
	$(VENV)/bin/ruff check .

test: lint
	$(PY) -m pytest -q

# Every benchmark under bench/ (bench/README.md explains each; mask.py's training comparison is run on its own);
# a failing one does not hide the others' figures.
BENCHES := read pipeline batch peers physics superres superres_loso superres_mask "mask accuracy" "mask speed" "mask margins" "mask report" "real run" "real report" faults

bench: setup
	$(PY) -m pip install -q -e ".[batch,peers]" || echo "the peers extra did not install: bench/peers.py skips them"
	@status=0; for bench in $(BENCHES); do \
		set -- $$bench; script=bench/$$1.py; shift; \
		echo "== $$script $$*"; $(PY) $$script "$$@" || status=1; \
	done; exit $$status

clean:
	rm -rf $(VENV) $(DEMO_DIR) bench/cache bench/out

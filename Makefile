# The two commands of the README. Both set up everything they need on a fresh machine.
#   make scan   - the main job: scan the bundled reference model against its corpus
#   make test   - the test suite (what CI runs)
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: scan scan-images test test-slow lint bench install browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch is pinned to the CPU build on disk; a bare "torch" would pull CUDA wheels
	$(BIN)/python -m pip install -q "torch==2.13.0"
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# Headless Chromium for the HTML-report browser tests (Debian package).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "could not install chromium"; \
	  else echo "chromium missing: install the Debian package 'chromium' for the browser tests"; fi; }

scan: $(STAMP)
	$(BIN)/regurgitate scan

# the second default: the bundled tiny diffusion model against its own training images
scan-images: $(STAMP)
	$(BIN)/regurgitate scan --target reference-image

test: $(STAMP) browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m mypy src
	$(BIN)/python -m pytest -q

test-slow: $(STAMP) browser
	$(BIN)/python -m pytest -q -m slow

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m mypy src

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_index.py --mb 100
	$(BIN)/python benchmarks/bench_targets.py

# The two commands of the README: `make run` and `make test`. Everything else is a step of theirs.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q
export PIP_NO_WARN_SCRIPT_LOCATION := 1
# Python caches compiled modules (__pycache__) unless told not to; a shell that sets this makes
# every `tutor` process and test worker compile its imports afresh (about 0.9 s a process here).
unexport PYTHONDONTWRITEBYTECODE

SANDBOX ?= /opt/tutor-sandbox
SANDBOX_PYTHON ?= /usr/bin/python3

.PHONY: run test install sysdeps sandbox lint clean starter-vectors

# System packages (Debian/Ubuntu): python3 with venv, a CJK font. Installed here when running as
# root.
sysdeps:
	@if ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq python3 python3-venv python3-pip; \
	  else \
	    echo "error: python3 with venv is needed: sudo apt-get install -y python3 python3-venv" >&2; \
	    exit 1; \
	  fi; \
	fi
	@# A CJK font for the progress charts' Chinese topic names (bot/tutoring/charts.py); without
	@# one, charts fall back to the default font and Chinese shows as boxes.
	@if [ ! -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] && \
	    [ ! -f /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y -qq fonts-wqy-microhei >/dev/null 2>&1 || \
	      { apt-get update -qq && apt-get install -y -qq fonts-wqy-microhei; }; \
	  else \
	    echo "note: no CJK font: sudo apt-get install -y fonts-wqy-microhei for Chinese in charts" >&2; \
	  fi; \
	fi

$(BIN)/tutor: pyproject.toml | sysdeps
	$(PYTHON) -m venv $(VENV)
	# torch first and pinned: this version is a CPU wheel on disk; a looser pin pulls a CUDA build
	$(PIP) install torch==2.13.0 2>&1 | grep -v '^WARNING: Location' || true
	$(BIN)/python -c 'import torch' 
	# the rest with uv (about 10 s where pip takes about 60 s); pip if uv cannot be had
	if $(PIP) install uv 2>/dev/null; then \
	  $(BIN)/python -m uv pip install -q --python $(BIN)/python -e '.[test]'; \
	else \
	  $(PIP) install -e '.[test]' 2>&1 | grep -v '^WARNING: Location' || true; \
	fi
	$(BIN)/tutor --version
	touch $@

install: $(BIN)/tutor

# The sandbox for /run: bubblewrap, and a Python environment for snippets (numpy, pandas, scipy,
# scikit-learn, matplotlib, torch CPU) in a place the unprivileged sandbox user can read; torch
# by pip (the CPU wheel on disk), the rest by the project's uv when it has one, compiled to
# bytecode there (the sandbox user cannot write it: each run would compile numpy afresh).
sandbox:
	@command -v bwrap >/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq bubblewrap; \
	  else echo "error: bubblewrap is needed: sudo apt-get install -y bubblewrap" >&2; exit 1; fi; }
	@test -x $(SANDBOX_PYTHON) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && apt-get install -y -qq python3 python3-venv; \
	  else echo "error: $(SANDBOX_PYTHON) is needed: sudo apt-get install -y python3 python3-venv" >&2; exit 1; fi; }
	@if [ ! -f $(SANDBOX)/.ready ]; then \
	  $(SANDBOX_PYTHON) -m venv $(SANDBOX) && \
	  $(SANDBOX)/bin/python -m pip --disable-pip-version-check -q install torch==2.13.0 2>&1 | grep -v '^WARNING: Location'; \
	  if $(BIN)/python -m uv --version >/dev/null 2>&1; then \
	    $(BIN)/python -m uv pip install -q --compile-bytecode --python $(SANDBOX)/bin/python numpy pandas scipy scikit-learn matplotlib; \
	  else \
	    $(SANDBOX)/bin/python -m pip --disable-pip-version-check -q install numpy pandas scipy scikit-learn matplotlib 2>&1 | grep -v '^WARNING: Location'; \
	  fi; \
	  $(SANDBOX)/bin/python -c 'import numpy, pandas, scipy, sklearn, matplotlib, torch' && touch $(SANDBOX)/.ready; \
	fi
	@test -f $(SANDBOX)/.ready

# Install, load the starter bank, and start the local chat.
run: install sandbox
	$(BIN)/tutor ingest --starter
	$(BIN)/tutor bank stats
	$(BIN)/tutor chat

# ruff, then the type checker over every package (pyproject.toml's [tool.mypy]).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# Install, lint, and run the test suite less its `slow` checks (CI runs those after: .ci/run).
# Two workers (CI has two cores); a worker that runs out of tests takes some from the other.
# Lint and the sandbox's install side by side: one is mostly the type checker, the other mostly
# unpacking wheels.
test: install
	$(MAKE) --no-print-directory -j2 lint sandbox
	TUTOR_RUNNER_PYTHON=$(SANDBOX)/bin/python $(BIN)/pytest -q -m "not slow" -n 2 --dist worksteal

# After editing the starter bank: the bundled model's vectors of it, shipped so a first ingest
# needs no embedding (retriever/shipped.py; a test fails while they are out of date).
starter-vectors: install
	$(BIN)/python -m retriever.shipped

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

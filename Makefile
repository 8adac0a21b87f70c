# The two commands of the README:
#   make run   – set up .venv if needed, then run the whole homework and write the report
#   make test  – set up .venv if needed, then run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# what `make run` needs, and on top of it what `make test` needs (pytest, hypothesis, a
# Jupyter kernel, TensorBoard): a first `make run` installs no test tools
STAMP_RUN  := $(VENV)/.installed
STAMP_TEST := $(VENV)/.installed-test

.PHONY: run test clean

# Fetches a data set that is found nowhere; after an interruption it continues where it stopped.
run: $(STAMP_RUN)
	$(BIN)/backproplab all --download --resume

test: $(STAMP_TEST)
	$(BIN)/python -m pytest

# (Re)install when pyproject.toml changes. PyTorch: where the CPU build of torch 2.13.0
# lies on disk (pip's find-links), it is installed first, alone (its dependencies come
# from the index with the package's), and the torch extra's range keeps it; elsewhere
# pip chooses a release in the range.
$(STAMP_RUN): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "backproplab needs Python >= 3.11; run: make PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-index --no-deps torch==2.13.0 \
		2>/dev/null && echo "torch 2.13.0 (CPU build) found on local disk" || true
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[torch]'
	@$(BIN)/python -c 'import torch; print("PyTorch", torch.__version__)'
	@touch $(STAMP_RUN)

$(STAMP_TEST): $(STAMP_RUN)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[torch,test]'
	@touch $(STAMP_TEST)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# The two commands of the README:
#   make run   – set up .venv if needed, then run the whole homework and write the report
#   make test  – set up .venv if needed, then run the whole test suite
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test clean

run: $(STAMP)
	$(BIN)/backproplab all

test: $(STAMP)
	$(BIN)/python -m pytest

# (Re)install when pyproject.toml changes. torch comes from the pinned extra
# (torch==2.13.0, the CPU build); nothing else is fetched at run time.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "backproplab needs Python >= 3.11; run: make PYTHON=python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[torch,test]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

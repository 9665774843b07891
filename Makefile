# Two commands a new user needs: `make demo` and `make test`. Each creates the virtual
# environment it needs (Python 3.11 or newer) on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint validate bench gaitmap-env clean

# the compiled modules (setup.py): each has a .pxd beside its .py; an edit of either rebuilds them
COMPILED_SRC := $(wildcard gait/*/*.pxd) $(patsubst %.pxd,%.py,$(wildcard gait/*/*.pxd))

$(STAMP): pyproject.toml setup.py $(COMPILED_SRC)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gait demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest -q

validate: $(STAMP)
	$(BIN)/gait validate --markdown out/validation.md

bench: $(STAMP)
	$(BIN)/gait bench

# gaitmap (the comparison in `gait validate`) pins its own dependencies: separate venv.
gaitmap-env: .venv-gaitmap/.installed
.venv-gaitmap/.installed: gait/validation/gaitmap-requirements.txt
	$(PYTHON) -m venv .venv-gaitmap
	.venv-gaitmap/bin/python -m pip install --quiet --upgrade pip
	.venv-gaitmap/bin/python -m pip install --quiet -r gait/validation/gaitmap-requirements.txt
	touch $@

clean:
	rm -rf $(VENV) .venv-gaitmap .pytest_cache .ruff_cache .hypothesis out .cache

# Set-up and everyday commands. `make demo` and `make test` work on a fresh clone: both create
# the virtual environment and install the project into it (editable) when needed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data
DEMO_PORT ?= 8750
DEMO_TLS_PORT ?= 8751

.PHONY: install demo test clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/crawler demo --data $(DATA) --port $(DEMO_PORT) --tls-port $(DEMO_TLS_PORT)

test: install
	$(BIN)/python -m pytest -q -m "not slow and not hexo"

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

# Set-up and everyday commands. `make demo` and `make test` work on a fresh clone: both create
# the virtual environment and install the project into it (editable) when needed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data
DEMO_PORT ?= 8750
DEMO_TLS_PORT ?= 8751

.PHONY: install demo test test-faults clean

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

# The slow fault cases: runs killed at random moments, stalled and broken servers. The figures
# they measured are written to $(DATA)/faults/summary.json.
test-faults: install
	rm -f $(DATA)/faults/summary.json
	FAULTS_REPORT=$(abspath $(DATA))/faults/summary.json $(BIN)/python -m pytest -q -m slow
	cat $(DATA)/faults/summary.json

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

# Set-up and everyday commands. `make demo` and `make test` work on a fresh clone: both create
# the virtual environment and install the project into it (editable) when needed.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DATA ?= data
DEMO_PORT ?= 8750
DEMO_TLS_PORT ?= 8751

.PHONY: install demo test test-faults bench clean
N ?= 2000
N_SOURCES ?= 1000
DUP_STORED ?= 10000,100000

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,distributed]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(BIN)/crawler demo --data $(DATA) --port $(DEMO_PORT) --tls-port $(DEMO_TLS_PORT)

test: install
	$(BIN)/python -m pytest -q -rs -m "not slow and not hexo"

# The tests that talk to PostgreSQL on 127.0.0.1:5432 (database `test`, a schema of their own per
# test, dropped after) and Redis on 127.0.0.1:6379 (a key prefix of their own, deleted after),
# required: a missing server fails them instead of skipping them.
.PHONY: test-distributed
test-distributed: install
	REQUIRE_SERVICES=1 $(BIN)/python -m pytest -q -m services

# The slow fault cases: runs killed at random moments, stalled and broken servers. The figures
# they measured are written to $(DATA)/faults/summary.json.
test-faults: install
	rm -f $(DATA)/faults/summary.json
	FAULTS_REPORT=$(abspath $(DATA))/faults/summary.json $(BIN)/python -m pytest -q -m slow
	cat $(DATA)/faults/summary.json

# The demo's posts published into the minimal Hexo site in tests/hexo and built by Hexo (hexo and
# its plugins pinned by tests/hexo/package-lock.json). Needs Node.js >= 20.19; without node the
# install is skipped and the tests say they were skipped.
.PHONY: test-hexo
test-hexo: install
	@if command -v node >/dev/null 2>&1; then \
		echo "cd tests/hexo && npm ci --no-audit --no-fund"; \
		cd tests/hexo && npm ci --no-audit --no-fund; \
	else \
		echo "test-hexo: node not found: not installing tests/hexo; the hexo tests will be skipped"; \
	fi
	$(BIN)/python -m pytest -q -rs -m hexo

# Five runs (bare Scrapy floor, posts, bare Scrapy fetching what an images run fetches,
# posts+images, rerun), three times each, on a generated
# loopback site of N articles (N=10000 works), then N_SOURCES feeds on one slow host against a bare
# spider, then a 1,000-item feed against `hexo migrate rss` (pinned by tests/bench/hexo-migrator's
# package-lock.json; skipped, and said so, without node), then the near-duplicate step on its
# labelled set and against DUP_STORED stored articles: tables, and $(DATA)/bench/results.json.
bench: install
	@if command -v node >/dev/null 2>&1; then \
		echo "cd tests/bench/hexo-migrator && npm ci --no-audit --no-fund"; \
		cd tests/bench/hexo-migrator && npm ci --no-audit --no-fund --loglevel=error; \
	else \
		echo "bench: node not found: the hexo migrate rss comparison will be skipped"; \
	fi
	$(BIN)/python -m tests.bench --n $(N) --sources $(N_SOURCES) --dup-stored $(DUP_STORED) --out $(abspath $(DATA))/bench

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .hypothesis

# adpharm: two commands set everything up on a fresh machine with Python 3.11+ and pip.
#   make run   builds .venv, installs adpharm and writes build/ketamine-vs-imipramine.html
#   make test  builds/updates .venv, checks the code with ruff and runs the whole test suite (what CI runs)
#   make test-fast  the same without the slow and browser tests (a few minutes)
#   make docs  builds the documentation site into build/site (offline)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint clean browser docs

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,data,docs,assays,mechanism,trials,transcriptomics,web,pdf]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/adpharm compare ketamine imipramine --out build/ketamine-vs-imipramine.html
	@echo "wrote build/ketamine-vs-imipramine.html"

# Optional: Debian's Chromium for the browser tests (skipped with a message when absent).
browser:
	-@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null 2>&1) \
	  || echo "chromium not installed: browser tests will be skipped"; }

# The documentation site (mkdocs, Material theme, API reference from the numpydoc docstrings), offline.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict -q -d build/site
	@echo "wrote build/site/index.html"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks validation

# Two workers (the suite's files are independent; a file's tests stay together for its fixtures).
test: lint browser
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-fast: lint
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow and not browser"

clean:
	rm -rf $(VENV) build .pytest_cache

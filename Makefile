# Two commands: `make eval` and `make test`. Both set up .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: eval test fuzz lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

eval: $(STAMP)
	$(BIN)/evalharness eval

# pytest exits 5 when it collects nothing: that is a broken setup, not a pass. One worker per
# core (pytest-xdist; an idle worker takes tests queued for the busy one).
test: $(STAMP)
	$(BIN)/python -m pytest -n auto --dist worksteal; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

# The fuzz suite's long profile (thousands of generated inputs; `make test` runs a few hundred).
fuzz: $(STAMP)
	EVALHARNESS_FUZZ=long $(BIN)/python -m pytest tests/test_fuzz.py -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check evalharness tests benchmarks
	$(BIN)/ruff format --check evalharness tests benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_align.py
	$(BIN)/python benchmarks/bench_backends.py
	$(BIN)/python benchmarks/bench_metrics.py
	$(BIN)/python benchmarks/bench_terms.py
	$(BIN)/python benchmarks/bench_significance.py
	$(BIN)/python benchmarks/bench_compare.py
	$(BIN)/python benchmarks/bench_llm.py
	$(BIN)/python benchmarks/bench_bounds.py
	$(BIN)/python benchmarks/bench_resegment.py
	$(BIN)/python benchmarks/bench_history.py

clean:
	rm -rf $(VENV)

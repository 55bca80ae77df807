# Everything a fresh machine needs, from this file alone.
#   make demo   set up, fetch the doc mirrors, crawl them, build the index, search it
#   make test   set up, lint, type-check and run the whole test suite (CI runs this)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA   ?= data
BUDGET ?= 400
STAMP  := $(VENV)/.installed-stamp
TORCH  ?= torch==2.13.0

.PHONY: install mirrors demo test lint fmt clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU build of torch, pinned before anything can pull the CUDA one.
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev,server,agent]'
	touch $@

install: $(STAMP)

# The Debian packages that hold the mirrored sites, unpacked under $(DATA)/mirrors.
mirrors: $(STAMP)
	$(BIN)/stepdr-index mirror fetch --data $(DATA)

demo: mirrors
	$(BIN)/stepdr-index crawl --data $(DATA) --offline --budget $(BUDGET) --quiet
	$(BIN)/stepdr-index build --data $(DATA)
	$(BIN)/stepdr-index stats --data $(DATA)
	@for q in "lru_cache maxsize" "VACUUM FULL locks the table" "sqlite write-ahead log checkpoint"; do \
		echo; echo "=== $$q"; $(BIN)/stepdr-index search --data $(DATA) -k 3 "$$q"; done

.typecheck/stepdr: $(STAMP)
	mkdir -p $@
	for p in crawl index rank agent; do ln -sfn ../../$$p $@/$$p; done

lint: $(STAMP) .typecheck/stepdr
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

test: mirrors lint
	STEPDR_REQUIRE_MIRRORS=1 STEPDR_TEST_MIRRORS=$(abspath $(DATA))/mirrors $(BIN)/pytest

clean:
	rm -rf $(VENV) .typecheck .pytest_cache .mypy_cache .ruff_cache

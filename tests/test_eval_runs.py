"""Evaluation runs end to end on the small index: scripted agent, scripted judge, no mocks."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from stepdr.agent.citation_support import SupportChecker, best_passage, cited_claims
from stepdr.agent.evaluate import Evaluator, TaskResult, run_facts, summary_table
from stepdr.agent.judge import Judge
from stepdr.agent.loop import Agent
from stepdr.agent.models.scripted import ScriptedModel, Step
from stepdr.agent.records import Message
from stepdr.agent.rubric import RubricItem, Task

from .agentutil import build_agent_index, cite_ids_in, make_agent, search

THERMO = Task(
    "thermo",
    "How often are thermometers recalibrated?",
    (
        RubricItem("Says twelve months.", 3, "explicit"),
        RubricItem("Mentions annex B.", 1, "implicit"),
        RubricItem("Claims they are never recalibrated.", -2, "accuracy"),
    ),
    ("https://standards.example.org/docs/calibration.html#top", "http://elsewhere.example/"),
)
GAUGE = Task("gauge/1", "Pressure gauges?", (RubricItem("Says twelve months.", 1),))


@pytest.fixture(scope="module")
def data(crawled_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_agent_index(crawled_site, tmp_path_factory.mktemp("agent-index"))


def _answer(messages: Sequence[Message]) -> str:
    ids = cite_ids_in(messages)
    return (
        f"<answer>Thermometers are recalibrated every twelve months \\cite{{{ids[0]}}}. "
        "Gauges follow the lab's schedule \\cite{web_deadbeef}.</answer>"
    )


def _search_or_answer(messages: Sequence[Message]) -> str:
    return _answer(messages) if cite_ids_in(messages) else search("thermometer twelve months")


def _keyword_judge(messages: Sequence[Message]) -> str:
    """Meets an item when its key word is in the report; supports when the passage has it."""
    prompt = messages[-1].content
    if "<passage>" in prompt:
        passage = prompt.split("<passage>")[1].split("</passage>")[0]
        return json.dumps({"supported": "twelve months" in passage, "justification": "p"})
    report = prompt.split("<report>")[1].split("</report>")[0].lower()
    criterion = prompt.split("Criterion:")[1].split("\n")[0].lower()
    phrases = {"twelve": "twelve", "annex": "annex", "never": "never recalibrated"}
    key = next(w for w in phrases if w in criterion)
    # Quote the report's sentence that holds the phrase, as the judge is asked to.
    quote = next((s for s in report.split(". ") if phrases[key] in s), "")
    return json.dumps({"satisfied": bool(quote), "justification": f'"{quote}"'})


class Factory:
    """Builds each run's agent with a fresh script; counts runs per task directory."""

    def __init__(self, data: Path, script: Sequence[Step]) -> None:
        self.data = data
        self.script = list(script)
        self.made: list[str] = []

    def __call__(self, run_dir: Path) -> Agent:
        self.made.append(run_dir.name)
        return make_agent(ScriptedModel(self.script), self.data, run_dir)


def _judge() -> Judge:
    return Judge(ScriptedModel([_keyword_judge], repeat_last=True))


def test_eval_grades_every_task_and_writes_the_summary(data: Path, tmp_path: Path) -> None:
    factory = Factory(data, [search("thermometer recalibrated twelve months"), _answer])
    judge = _judge()
    ev = Evaluator(tmp_path, factory, judge, SupportChecker(judge, sample=5))
    thermo, gauge = ev.evaluate([THERMO, GAUGE])
    assert factory.made == ["thermo", "gauge-1"]
    # 3 of the 4 positive weight; the penalty item was judged unmet.
    assert thermo.status == "answered" and thermo.score == pytest.approx(0.75)
    assert gauge.score == 1.0
    assert thermo.steps == 2 and thermo.tool_calls == 1 and thermo.tokens > 0
    assert thermo.citations == 1 and thermo.top_tier_share == 1.0
    assert thermo.removed == 1 and thermo.fabricated == 0
    assert thermo.support_checked == 1 and thermo.support_share == 1.0
    assert thermo.sources_found == 0.5 and gauge.sources_found is None

    grading = json.loads((tmp_path / "runs" / "thermo" / "grading.json").read_text())
    assert [i["satisfied"] for i in grading["items"]] == [True, False, False]
    assert grading["support"]["checks"][0]["sentence"].startswith("Thermometers are")
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert [t["task_id"] for t in summary["tasks"]] == ["thermo", "gauge/1"]
    table = (tmp_path / "summary.md").read_text()
    header, rule, *rows = table.splitlines()
    assert "score" in header and "fabricated" in header and "tier 1-2" in header
    assert set(rule) <= {"|", "-"} and len(rows) == 3
    assert re.search(r"\| thermo +\| answered +\| 0\.750 ", rows[0])
    assert rows[2].startswith("| mean of 2") and "0.875" in rows[2] and "0 total" in rows[2]
    assert "sources found" in header and rows[0].endswith("| 50%           |")


def test_eval_resumes_and_skips_finished_work(data: Path, tmp_path: Path) -> None:
    def interrupt(_: Sequence[Message]) -> str:
        raise KeyboardInterrupt

    judge_model = ScriptedModel([_keyword_judge], repeat_last=True)
    first = Factory(data, [search("thermometer twelve months"), interrupt])
    ev = Evaluator(tmp_path, first, Judge(judge_model))
    results = ev.evaluate([THERMO])
    assert results[0].status == "interrupted" and results[0].score == 0.0
    assert judge_model.calls == 0  # no answer: unmet without asking the judge

    second = Factory(data, [_search_or_answer, _search_or_answer])
    again = Evaluator(tmp_path, second, Judge(judge_model)).evaluate([THERMO, GAUGE])
    assert second.made == ["thermo", "gauge-1"]  # the interrupted run was resumed
    assert again[0].status == "answered" and again[0].score == pytest.approx(0.75)
    assert again[0].tool_calls == 1  # the search before the interrupt is not redone
    calls = judge_model.calls

    third = Factory(data, [])  # a run started now would fail on its empty script
    final = Evaluator(tmp_path, third, Judge(judge_model)).evaluate([THERMO, GAUGE])
    assert third.made == [] and judge_model.calls == calls  # nothing rerun or rejudged
    assert [r.score for r in final] == [r.score for r in again]


def test_a_changed_report_or_rubric_is_judged_again(data: Path, tmp_path: Path) -> None:
    factory = Factory(data, [search("thermometer twelve months"), _answer])
    judge_model = ScriptedModel([_keyword_judge], repeat_last=True)
    Evaluator(tmp_path, factory, Judge(judge_model)).evaluate([THERMO])
    before = judge_model.calls
    stricter = Task(THERMO.id, THERMO.prompt, (*THERMO.items, RubricItem("Says never.", 1)))
    (result,) = Evaluator(tmp_path, factory, Judge(judge_model)).evaluate([stricter])
    assert judge_model.calls == before + 4 and result.score == pytest.approx(3 / 5)


def test_fabricated_citation_in_a_report_is_counted(data: Path, tmp_path: Path) -> None:
    factory = Factory(data, [search("thermometer twelve months"), _answer])
    Evaluator(tmp_path, factory, _judge()).evaluate([THERMO])
    run_dir = tmp_path / "runs" / "thermo"
    assert run_facts(run_dir)["fabricated"] == 0
    report = run_dir / "report.md"
    tampered = report.read_text().replace("Gauges", "Also [2]. See \\cite{web_0badf00d}. Gauges")
    report.write_text(tampered.replace("](http", "](https://elsewhere.example/x?", 1))
    assert run_facts(run_dir)["fabricated"] == 4  # unknown URL, [2], \cite and its id


def test_cited_claims_and_best_passage() -> None:
    md = (
        "# Q\n\nFirst claim [1]. Second claim [1][2]. No citation here.\n- Listed [2]\n\n"
        "## References\n\n1. [A](https://a.example/) — a · tier 1\n"
    )
    claims = cited_claims(md, ["web_aaaaaaaa", "web_bbbbbbbb"], {"web_aaaaaaaa": "u"})
    assert [(c.sentence, c.cite_id) for c in claims] == [
        ("First claim .", "web_aaaaaaaa"),
        ("Second claim .", "web_aaaaaaaa"),
        ("Second claim .", "web_bbbbbbbb"),
        ("Listed", "web_bbbbbbbb"),
    ]
    text = "Intro about nothing.\n\nThe gauge is checked every twelve months.\n\nOther text."
    assert best_passage(text, "checked every twelve months", limit=45).startswith("The gauge")


def test_summary_table_without_results_or_support() -> None:
    r = TaskResult("t", "max_steps", 0.0, 3, 0, 10, 1.0, 0, None, 0, 0, None, 0)
    table = summary_table([r])
    assert "| t " in table and "| -" in table and "mean of 1" in table
    assert summary_table([]).count("\n") == 1

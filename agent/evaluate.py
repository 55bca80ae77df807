"""End-to-end evaluation: run the agent on every task, judge each report, tabulate.

Every task gets its own run directory under ``OUT/runs/<task id>``, so an evaluation is
resumable: a finished run (ended for any reason but an interrupt or a model failure) is not
run again, an unfinished one is resumed from its trajectory, and a grading is redone only
when its report changed.  The summary is rewritten after each task.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from stepdr.core.errors import TrajectoryError

from .citation_support import SupportChecker, report_body
from .judge import Grading, Judge, Verdict, format_table
from .loop import REPORT, Agent
from .records import ExitStatus
from .rubric import Task
from .trajectory import FILE, read_events

GRADING = "grading.json"
SUMMARY = "summary"
# Ends worth resuming; any other end is final.
RERUN = (ExitStatus.INTERRUPTED, ExitStatus.MODEL_ERROR)
_REF = re.compile(r"^\d+\. \[.*\]\((\S+)\)", re.M)
_MARK = re.compile(r"\[(\d+)\]")
_RAW_ID = re.compile(r"\\cite|\bweb_[0-9a-f]{8}\b")


class AgentFactory(Protocol):
    def __call__(self, run_dir: Path) -> Agent: ...


@dataclass(frozen=True)
class TaskResult:
    task_id: str
    status: str
    score: float
    steps: int
    tool_calls: int
    tokens: int
    seconds: float
    citations: int
    top_tier_share: float | None  # cited sources of tier 1 or 2
    removed: int  # ids the model cited without retrieving them (taken out of the report)
    fabricated: int  # references in the final report to pages the run never retrieved
    support_share: float | None
    support_checked: int
    sources_found: float | None = None  # the task's reference sources the run retrieved

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def task_dir_name(task_id: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", task_id).strip("-.")[:60]
    return slug or hashlib.sha1(task_id.encode()).hexdigest()[:12]


def run_facts(run_dir: Path) -> dict[str, Any]:
    """Steps, cost and citation facts of a finished run, from its trajectory and report."""
    events = read_events(run_dir / FILE)
    end = next((e for e in reversed(events) if e["type"] == "end"), None)
    if end is None:
        raise TrajectoryError(f"{run_dir}: the run has not ended; resume it first")
    sources: dict[str, dict[str, Any]] = {}
    for e in events:
        if e["type"] == "observation":
            for s in e["sources"]:
                sources.setdefault(s["cite_id"], s)
    cited = [str(c) for c in end.get("cited") or []]
    tiers = [sources.get(c, {}).get("tier") for c in cited]
    markdown = (run_dir / REPORT).read_text(encoding="utf-8")
    refs = markdown.partition("\n## References")[2]
    body = report_body(markdown)
    retrieved = {str(s["url"]) for s in sources.values()}
    fabricated = sum(1 for c in cited if c not in sources)
    fabricated += sum(1 for url in _REF.findall(refs) if url not in retrieved)
    fabricated += sum(1 for n in _MARK.findall(body) if int(n) > len(cited))
    fabricated += len(_RAW_ID.findall(body))
    return {
        "events": events,
        "status": str(end["status"]),
        "answered": ExitStatus(end["status"]).answered,
        "steps": int(end["steps"]),
        "tool_calls": sum(1 for e in events if e["type"] == "tool_call"),
        "tokens": sum(
            int(e["prompt_tokens"]) + int(e["completion_tokens"])
            for e in events
            if e["type"] == "model"
        ),
        "seconds": float(end["seconds"]),
        "cited": cited,
        "urls": {c: str(sources.get(c, {}).get("url") or "") for c in cited},
        "top_tier_share": sum(t in (1, 2) for t in tiers) / len(tiers) if tiers else None,
        "removed": len(end.get("removed_citations") or []),
        "fabricated": fabricated,
        "retrieved": retrieved,
        "markdown": markdown,
        "question": str(events[0]["question"]),
    }


def finished(run_dir: Path) -> bool:
    if not (run_dir / FILE).is_file():
        return False
    events = read_events(run_dir / FILE)
    return events[-1]["type"] == "end" and ExitStatus(events[-1]["status"]) not in RERUN


class Evaluator:
    def __init__(
        self,
        out_dir: Path,
        make_agent: AgentFactory,
        judge: Judge,
        support: SupportChecker | None = None,
        config: dict[str, Any] | None = None,
        say: Callable[[str], None] = lambda _: None,
    ) -> None:
        self.out_dir = out_dir
        self.make_agent = make_agent
        self.judge = judge
        self.support = support
        self.config = config or {}
        self.say = say

    def run_task(self, task: Task) -> Path:
        run_dir = self.out_dir / "runs" / task_dir_name(task.id)
        if finished(run_dir):
            self.say(f"[{task.id}] run finished before: kept")
        elif (run_dir / FILE).is_file():
            self.say(f"[{task.id}] resuming the unfinished run")
            self.make_agent(run_dir).resume()
        else:
            self.say(f"[{task.id}] running")
            self.make_agent(run_dir).run(task.prompt, {**self.config, "task_id": task.id})
        return run_dir

    def grade_task(self, task: Task, run_dir: Path, facts: dict[str, Any]) -> dict[str, Any]:
        path = run_dir / GRADING
        digest = hashlib.sha256(facts["markdown"].encode()).hexdigest()
        if path.is_file():
            old = json.loads(path.read_text(encoding="utf-8"))
            if old.get("report_sha256") == digest and old.get("rubric") == _rubric_key(task):
                return dict(old)
        self.say(f"[{task.id}] judging {len(task.items)} rubric items")
        if facts["answered"]:
            grading = self.judge.grade(task, facts["markdown"])
        else:  # nothing to grade: every item unmet, without asking the judge
            why = f"the run gave no answer ({facts['status']})"
            grading = Grading(task.id, tuple(Verdict(i, False, why) for i in task.items))
        out: dict[str, Any] = {
            **grading.to_dict(),
            "report_sha256": digest,
            "rubric": _rubric_key(task),
        }
        if self.support is not None and facts["answered"] and facts["cited"]:
            result = self.support.check(
                facts["markdown"], facts["events"], facts["cited"], facts["urls"]
            )
            out["support"] = result.to_dict()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(out, ensure_ascii=False, indent=2), encoding="utf-8")
        tmp.replace(path)
        return out

    def evaluate(self, tasks: Sequence[Task]) -> list[TaskResult]:
        results: list[TaskResult] = []
        for task in tasks:
            run_dir = self.run_task(task)
            facts = run_facts(run_dir)
            graded = self.grade_task(task, run_dir, facts)
            support = graded.get("support") or {}
            results.append(
                TaskResult(
                    task.id,
                    facts["status"],
                    float(graded["score"]),
                    facts["steps"],
                    facts["tool_calls"],
                    facts["tokens"],
                    facts["seconds"],
                    len(facts["cited"]),
                    facts["top_tier_share"],
                    facts["removed"],
                    facts["fabricated"],
                    support.get("share"),
                    int(support.get("checked") or 0),
                    found_share(task.sources, facts["retrieved"]),
                )
            )
            write_summary(self.out_dir, results)
            self.say(f"[{task.id}] score {results[-1].score:.3f}")
        return results


def _bare(url: str) -> str:
    return url.split("#", 1)[0].split("://", 1)[-1].rstrip("/")


def found_share(wanted: Sequence[str], retrieved: set[str]) -> float | None:
    if not wanted:
        return None
    have = {_bare(u) for u in retrieved}
    return sum(_bare(u) in have for u in wanted) / len(wanted)


def _rubric_key(task: Task) -> str:
    text = json.dumps([i.to_dict() for i in task.items], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f}%"


def summary_table(results: Sequence[TaskResult]) -> str:
    rows = [
        [
            r.task_id,
            r.status,
            f"{r.score:.3f}",
            str(r.steps),
            str(r.tool_calls),
            str(r.tokens),
            f"{r.seconds:.0f}",
            str(r.citations),
            _pct(r.top_tier_share),
            str(r.removed),
            str(r.fabricated),
            f"{_pct(r.support_share)} of {r.support_checked}" if r.support_checked else "-",
            _pct(r.sources_found),
        ]
        for r in results
    ]
    if results:
        n = len(results)
        shares = [r.top_tier_share for r in results if r.top_tier_share is not None]
        checked = sum(r.support_checked for r in results)
        supported = sum((r.support_share or 0) * r.support_checked for r in results)
        found = [r.sources_found for r in results if r.sources_found is not None]
        rows.append(
            [
                f"mean of {n}",
                f"{sum(r.status == 'answered' for r in results)} answered",
                f"{sum(r.score for r in results) / n:.3f}",
                f"{sum(r.steps for r in results) / n:.1f}",
                f"{sum(r.tool_calls for r in results) / n:.1f}",
                f"{sum(r.tokens for r in results) / n:.0f}",
                f"{sum(r.seconds for r in results) / n:.0f}",
                f"{sum(r.citations for r in results) / n:.1f}",
                _pct(sum(shares) / len(shares)) if shares else "-",
                f"{sum(r.removed for r in results)} total",
                f"{sum(r.fabricated for r in results)} total",
                f"{_pct(supported / checked)} of {checked}" if checked else "-",
                _pct(sum(found) / len(found)) if found else "-",
            ]
        )
    headers = ["task", "status", "score", "steps", "tool calls", "tokens", "time s", "cites",
               "tier 1-2", "removed", "fabricated", "supported", "sources found"]  # fmt: skip
    return format_table(headers, rows)


def write_summary(out_dir: Path, results: Sequence[TaskResult]) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    data = {"tasks": [r.to_dict() for r in results]}
    for name, text in (
        (f"{SUMMARY}.json", json.dumps(data, indent=2)),
        (f"{SUMMARY}.md", summary_table(results) + "\n"),
    ):
        tmp = out_dir / f"{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(out_dir / name)

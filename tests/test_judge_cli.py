"""stepdr-agent judge / eval end to end, agent and judge behind a loopback OpenAI endpoint."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from stepdr.agent.cli import main
from stepdr.agent.judge import SYSTEM

from .agentutil import build_agent_index, search

TASKS = [
    {
        "sample_id": "thermo",
        "prompt": "How often are thermometers recalibrated?",
        "rubrics": [
            {"criterion": "Says twelve months.", "weight": 4, "axis": "explicit"},
            {"criterion": "Mentions annex B.", "weight": 1, "axis": "implicit"},
            {"criterion": "Claims they are never recalibrated.", "weight": -3, "axis": "accuracy"},
        ],
    }
]


def _reply(messages: list[dict[str, str]]) -> str:
    """Agent: search, then answer citing what it found.  Judge: keyword verdicts."""
    last = messages[-1]["content"]
    if messages[0]["content"] == SYSTEM:
        if "<passage>" in last:
            return '{"supported": true, "justification": "twelve months"}'
        criterion = last.split("Criterion:")[1].split("\n")[0]
        met = "twelve" in criterion
        quote = 'It says "recalibrated every twelve months".' if met else ""
        return f"Verdict: {'yes' if met else 'no'}. {quote}" if "annex" not in criterion else "hmm"
    ids = re.findall(r"\bweb_[0-9a-f]{8}\b", "\n".join(m["content"] for m in messages[2:]))
    if not ids:
        return search("thermometer recalibrated twelve months")
    return f"<answer>Recalibrated every twelve months \\cite{{{ids[0]}}}.</answer>"


class _Chat(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body = json.dumps({"choices": [{"message": {"content": _reply(req["messages"])}}]})
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Chat)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def data(crawled_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_agent_index(crawled_site, tmp_path_factory.mktemp("agent-index"))


@pytest.fixture
def tasks(tmp_path: Path) -> Path:
    path = tmp_path / "tasks.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in TASKS))
    return path


def _cli(*args: str) -> Any:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_eval_then_judge_the_same_run(
    endpoint: str, data: Path, tasks: Path, tmp_path: Path
) -> None:
    out = tmp_path / "eval"
    model = ["--endpoint", endpoint, "--api-model", "m"]
    result = _cli("eval", str(tasks), "--index", str(data), "--out", str(out), *model,
                  "--no-shell", "--max-steps", "4", "-q")  # fmt: skip
    assert result.exit_code == 0, result.output
    header, _, row, mean = result.stdout.strip().splitlines()
    assert "score" in header and "fabricated" in header
    # 4 of 5: annex's judge reply is unreadable (unmet), the penalty is unmet.
    assert re.search(r"\| thermo +\| answered +\| 0\.800 ", row)
    assert "100% of 1" in row and "0 total" in mean
    assert (out / "summary.md").read_text().strip() == result.stdout.strip()

    again = _cli("eval", str(tasks), "--index", str(data), "--out", str(out), *model)
    assert "run finished before: kept" in again.stderr and "judging" not in again.stderr

    run_dir = out / "runs" / "thermo"
    judged = _cli("judge", str(run_dir), "--tasks", str(tasks), "--index", str(data),
                  "--judge-endpoint", endpoint, "--judge-api-model", "m", "--json")  # fmt: skip
    assert judged.exit_code == 0, judged.output
    grading = json.loads(judged.stdout)
    assert grading["task_id"] == "thermo" and grading["score"] == 0.8
    assert grading["unparsed"] == 1 and grading["support"]["share"] == 1.0
    table = _cli("judge", str(run_dir / "report.md"), "--tasks", str(tasks), "--task", "thermo",
                 "--judge-endpoint", endpoint, "--judge-api-model", "m")  # fmt: skip
    assert table.exit_code == 0, table.output
    assert "score 0.800 = max(0, 4) / 5" in table.stdout and "unreadable" in table.stdout


def test_bad_task_file_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "p"}\n')
    report = tmp_path / "report.md"
    report.write_text("# p\n")
    result = _cli("judge", str(report), "--tasks", str(bad), "--judge-endpoint", "http://x/v1")
    assert result.exit_code == 1
    assert (
        result.output.strip() == "Error: bad.jsonl:1: no rubric items (rubrics | rubric | "
        "criteria | rubric_items | checklist)"
    )

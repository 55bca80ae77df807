"""stepdr-agent run / resume end to end, with the model behind a loopback OpenAI endpoint."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from stepdr.agent.cli import main

from .agentutil import build_agent_index, events, search

Reply = Callable[[list[dict[str, str]]], str]


def _answer_with_found_ids(messages: list[dict[str, str]]) -> str:
    found = (re.findall(r"\bweb_[0-9a-f]{8}\b", m["content"]) for m in reversed(messages))
    ids = next(f for f in found if f)  # from the latest search
    return f"<answer>Twelve months \\cite{{{ids[0]}}}.</answer>"


class _Chat(BaseHTTPRequestHandler):
    script: ClassVar[list[Reply]] = []

    def do_POST(self) -> None:
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply = type(self).script.pop(0) if len(type(self).script) > 1 else type(self).script[0]
        payload = {"choices": [{"message": {"content": reply(req["messages"])}}]}
        body = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def chat() -> Iterator[tuple[str, type[_Chat]]]:
    handler = type("Handler", (_Chat,), {"script": []})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", handler
    finally:
        httpd.shutdown()


@pytest.fixture(scope="module")
def data(crawled_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_agent_index(crawled_site, tmp_path_factory.mktemp("agent-index"))


def _run(*args: str) -> Any:
    env = {"OPENAI_API_KEY": "sk-test-secret"}
    return CliRunner().invoke(main, list(args), catch_exceptions=False, env=env)


def test_run_writes_report_and_trajectory(
    chat: tuple[str, type[_Chat]], data: Path, tmp_path: Path
) -> None:
    url, handler = chat
    handler.script = [lambda _: search("accredited laboratories annex B"), _answer_with_found_ids]
    run_dir = tmp_path / "run"
    result = _run("run", "How often?", "--index", str(data), "--endpoint", url,
                  "--api-model", "m", "--workspace", str(run_dir), "--no-shell")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(run_dir / "report.md")
    assert "step 1" in result.stderr and "→ batch_web_surfer" in result.stderr
    assert "answered: answered" in result.stderr
    report = (run_dir / "report.md").read_text()
    assert "Twelve months [1]." in report and "standards.example.org · tier 1" in report
    assert events(run_dir)[0]["config"]["endpoint"] == url
    assert "sk-test-secret" not in (run_dir / "trajectory.jsonl").read_text()
    again = _run("run", "How often?", "--index", str(data), "--endpoint", url,
                 "--workspace", str(run_dir))  # fmt: skip
    assert again.exit_code == 2 and "resume" in again.output


def test_budget_stop_then_resume(chat: tuple[str, type[_Chat]], data: Path, tmp_path: Path) -> None:
    url, handler = chat
    handler.script = [lambda _: search("pressure gauge")]
    run_dir = tmp_path / "run"
    result = _run("run", "q", "--index", str(data), "--endpoint", url, "--api-model", "m",
                  "--workspace", str(run_dir), "--no-shell", "--max-steps", "2")  # fmt: skip
    assert result.exit_code == 0 and "max_steps" in result.stderr
    assert "No answer" in (run_dir / "report.md").read_text()
    handler.script = [_answer_with_found_ids]
    resumed = _run("resume", str(run_dir), "--max-steps", "4", "-q")
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout.strip() == str(run_dir / "report.md")
    assert "[1]" in (run_dir / "report.md").read_text()


def test_missing_index_is_one_line_error(tmp_path: Path) -> None:
    result = _run("run", "q", "--index", str(tmp_path), "--endpoint", "http://127.0.0.1:9/v1")
    assert result.exit_code == 1
    assert result.output.strip().startswith("Error:") and "stepdr-index build" in result.output

"""A run killed mid-step resumes from its trajectory, without redoing finished tool calls."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from stepdr.agent.models.scripted import ScriptedModel
from stepdr.agent.records import Budgets, ExitStatus, ToolOutput
from stepdr.core.errors import TrajectoryError

from .agentutil import build_agent_index, call, cite_ids_in, events, make_agent, search
from .conftest import REPO


class SlowTool:
    """A tool that takes ``seconds``: the crash lands while it runs."""

    name = "slow"
    description = 'slow: waits. {"note": TEXT}'
    disabled: str | None = None

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.runs = 0

    def run(self, args: Mapping[str, Any]) -> ToolOutput:
        self.runs += 1
        time.sleep(self.seconds)
        return ToolOutput(f"waited for {args.get('note')}")

    def close(self) -> None:
        pass


STEPS = [
    search("thermometer recalibrated"),
    call("slow", note="the kill") + "\n" + call("todo", action="add", items=["write report"]),
]

CHILD = """
import sys
from pathlib import Path
from stepdr.agent.models.scripted import ScriptedModel
from tests.agentutil import make_agent
from tests.test_agent_resume import STEPS, SlowTool

data, run_dir = Path(sys.argv[1]), Path(sys.argv[2])
make_agent(ScriptedModel(STEPS), data, run_dir, extra_tools=[SlowTool(600)]).run("q")
"""


@pytest.fixture(scope="module")
def data(crawled_site: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_agent_index(crawled_site, tmp_path_factory.mktemp("agent-index"))


def _kill_during_slow_tool(data: Path, run_dir: Path) -> None:
    script = run_dir.parent / "child.py"
    script.write_text(textwrap.dedent(CHILD))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, str(script), str(data), str(run_dir)], env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            traj = run_dir / "trajectory.jsonl"
            if traj.exists() and '"name": "slow"' in traj.read_text():
                break
            assert child.poll() is None, "the child ended before the slow tool ran"
            time.sleep(0.05)
        else:
            pytest.fail("the child never reached the slow tool")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)


def test_resume_after_a_kill(data: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    _kill_during_slow_tool(data, run_dir)
    before = events(run_dir)
    assert before[-1]["type"] == "tool_call" and before[-1]["name"] == "slow"
    # A crash can also tear the last line; resume must cut it off.
    with (run_dir / "trajectory.jsonl").open("a") as f:
        f.write('{"type": "observation", "step": 2, "call_id": "s2c1", "te')

    def answer(messages: Any) -> str:
        ids = cite_ids_in(messages)
        return f"<answer>Every twelve months \\cite{{{ids[0]}}}.</answer>"

    slow = SlowTool(0)
    model = ScriptedModel([answer])
    result = make_agent(model, data, run_dir, extra_tools=[slow]).resume()
    assert result.status is ExitStatus.ANSWERED and result.steps == 3
    assert slow.runs == 1  # the interrupted call ran again, once
    after = events(run_dir)
    assert [e["type"] for e in after].count("resume") == 1
    searches = [e for e in after if e["type"] == "tool_call" and e["name"] == "batch_web_surfer"]
    assert len(searches) == 1  # the finished search was not redone
    seen = model.seen[0]
    assert seen[1].content == "q" and "<batch_search_results>" in seen[3].content
    assert "waited for the kill" in seen[-1].content and "write report" in seen[-1].content
    assert result.cited  # sources learned before the crash still count
    assert all(json.loads(line) for line in (run_dir / "trajectory.jsonl").read_text().splitlines())
    assert float(str(after[-1]["t"])) >= float(str(before[-1]["t"]))


def test_a_finished_run_is_not_resumed(data: Path, tmp_path: Path) -> None:
    make_agent(ScriptedModel(["<answer>done</answer>"]), data, tmp_path).run("q")
    with pytest.raises(TrajectoryError, match="already ended"):
        make_agent(ScriptedModel([]), data, tmp_path).resume()


def test_a_budget_stop_resumes_with_a_larger_budget(data: Path, tmp_path: Path) -> None:
    loop = ScriptedModel([search("pressure gauge")], repeat_last=True)
    first = make_agent(loop, data, tmp_path, Budgets(max_steps=2)).run("q")
    assert first.status is ExitStatus.MAX_STEPS
    done = make_agent(ScriptedModel(["<answer>ok</answer>"]), data, tmp_path, Budgets(max_steps=5))
    assert done.resume().status is ExitStatus.ANSWERED


def test_not_a_run_directory(data: Path, tmp_path: Path) -> None:
    with pytest.raises(TrajectoryError, match="not a run directory"):
        make_agent(ScriptedModel([]), data, tmp_path).resume()


def test_an_interrupt_ends_cleanly_and_resumes(data: Path, tmp_path: Path) -> None:
    def interrupt(_: Any) -> str:
        raise KeyboardInterrupt

    first = make_agent(ScriptedModel([search("gauge"), interrupt]), data, tmp_path).run("q")
    assert first.status is ExitStatus.INTERRUPTED and first.steps == 1
    assert events(tmp_path)[-1]["status"] == "interrupted"
    done = make_agent(ScriptedModel(["<answer>ok</answer>"]), data, tmp_path).resume()
    assert done.status is ExitStatus.ANSWERED and done.steps == 2

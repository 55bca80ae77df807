"""The shell tool's sandbox: persistent session, no way out, no network, bounded in time.

These need bubblewrap and tmux (Debian packages bubblewrap, tmux): they skip only where
bwrap truly cannot run, and fail instead under CI, which must have it.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from stepdr.agent.models.scripted import ScriptedModel
from stepdr.agent.records import ExitStatus, ToolCall
from stepdr.agent.tools.base import Toolbox
from stepdr.agent.tools.sandbox import unavailable
from stepdr.agent.tools.shell import ShellTool
from stepdr.agent.tools.workspace import Workspace

from .agentutil import build_agent_index, call, make_agent, search

_WHY = unavailable()
if _WHY is not None and os.environ.get("CI"):
    pytest.fail(f"CI must have a working sandbox: {_WHY}", pytrace=False)
needs_sandbox = pytest.mark.skipif(_WHY is not None, reason=f"no sandbox here: {_WHY}")


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[ShellTool]:
    tool = ShellTool(Workspace(tmp_path / "ws"))
    try:
        yield tool
    finally:
        tool.close()


class _Listener:
    """A loopback TCP server that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop = True
        self._thread.join(2)
        self.sock.close()


def _procs_running(marker: str) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if marker.encode() in cmdline:
            found.append(int(pid))
    return found


@needs_sandbox
def test_session_persists_between_commands(shell: ShellTool) -> None:
    first = shell.run({"command": "pwd; mkdir -p sub && cd sub && export NOTE=kept; echo hi"})
    assert first.ok and "/workspace\nhi" in first.text and "[exit status 0]" in first.text
    second = shell.run({"command": "pwd; echo $NOTE; false"})
    assert "/workspace/sub\nkept" in second.text and "[exit status 1]" in second.text
    assert not second.ok


@needs_sandbox
def test_nothing_outside_the_workspace_is_writable_or_visible(
    shell: ShellTool, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    outside = tmp_path / "outside"
    outside.mkdir()
    out = shell.run({"command": (
        f"touch /etc/pwned-{tag}; touch /usr/pwned-{tag}; echo x > ../pwned-{tag}; "
        f"echo x > {outside}/pwned; touch /tmp/pwned-{tag}; ls {tmp_path}; ls /root /home; "
        "echo inside > ok.txt"
    )})  # fmt: skip
    assert "Read-only file system" in out.text
    assert not Path(f"/etc/pwned-{tag}").exists() and not Path(f"/usr/pwned-{tag}").exists()
    assert not Path(f"/tmp/pwned-{tag}").exists() and not (outside / "pwned").exists()
    assert list(outside.iterdir()) == []
    assert (shell.workspace.root / "ok.txt").read_text() == "inside\n"


@needs_sandbox
def test_no_network(shell: ShellTool) -> None:
    server = _Listener()
    try:
        out = shell.run({"command": f"exec 3<>/dev/tcp/127.0.0.1/{server.port} && echo CONNECTED"})
        time.sleep(0.3)
    finally:
        server.close()
    assert "\nCONNECTED" not in out.text and not out.ok
    assert server.accepted == 0


@needs_sandbox
def test_a_command_past_its_timeout_is_killed(shell: ShellTool) -> None:
    marker = f"{31 + uuid.uuid4().int % 1000 / 1000:.3f}"
    start = time.monotonic()
    out = shell.run({"command": f"trap '' INT TERM HUP; sleep {marker} & sleep {marker}",
                     "timeout": 2})  # fmt: skip
    took = time.monotonic() - start
    assert took < 2 + 2, f"took {took:.1f} s"
    assert not out.ok and "timed out after 2 s" in out.text
    time.sleep(0.2)
    assert _procs_running(f"sleep {marker}") == []
    assert shell.run({"command": "echo still here"}).text.splitlines()[1] == "still here"


@needs_sandbox
def test_a_fork_bomb_is_contained_and_killed(shell: ShellTool) -> None:
    shell.run({"command": "true"})
    if shell._limit is None:
        pytest.skip("no pids cgroup can be made here: a fork bomb would reach the host")
    start = time.monotonic()
    out = shell.run({"command": ":(){ :|:& };:", "timeout": 3})
    took = time.monotonic() - start
    assert took < 3 + 2, f"took {took:.1f} s"
    assert not out.ok and "timed out" in out.text
    assert shell.run({"command": "echo alive"}).text.splitlines()[1] == "alive"
    assert len(shell._limit.procs()) < 10 if shell._limit else True


@needs_sandbox
def test_long_output_is_truncated(shell: ShellTool) -> None:
    out = shell.run({"command": "yes stepdr | head -c 300000"})
    assert "characters cut; the full output is in .shell/" in out.text
    assert len(out.text) < 20_000


def test_without_a_sandbox_the_shell_is_disabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither bwrap nor tmux can be found
    tool = ShellTool(Workspace(tmp_path / "ws"))
    out = Toolbox([tool]).run(ToolCall("shell", {"command": "id"}))
    assert not out.ok and "the shell tool is disabled: no sandbox" in out.text
    assert "--allow-unsandboxed-shell" in out.text
    allowed = ShellTool(Workspace(tmp_path / "ws"), allow_unsandboxed=True)
    assert allowed.disabled is None and not allowed.sandboxed
    assert "no sandbox" in allowed.description


@needs_sandbox
def test_an_agent_obeying_a_poisoned_page_stays_contained(
    crawled_site: Path, tmp_path: Path
) -> None:
    data = build_agent_index(crawled_site, tmp_path / "index")
    server = _Listener()
    tag = uuid.uuid4().hex[:8]
    obey = call("shell", command=(
        f"touch /tmp/pwned-{tag}; echo x > ../../pwned-{tag}; cat ~/.ssh/id_rsa; "
        f"exec 3<>/dev/tcp/127.0.0.1/{server.port}"
    ))  # fmt: skip
    model = ScriptedModel([search("thermometer forum"), obey, "<answer>x</answer>"])
    run_dir = tmp_path / "run"
    shell = ShellTool(Workspace(run_dir / "workspace"))
    try:
        result = make_agent(model, data, run_dir, extra_tools=[shell]).run("q")
    finally:
        server.close()
    assert result.status is ExitStatus.ANSWERED
    assert "Read-only file system" in model.seen[2][-1].content
    assert server.accepted == 0
    assert not Path(f"/tmp/pwned-{tag}").exists() and not (tmp_path / f"pwned-{tag}").exists()

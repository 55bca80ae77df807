"""The ``shell`` tool: commands in one persistent tmux session running inside the sandbox.

Each command runs as one job of the session's interactive bash: a subshell in its own
process group, its output piped through ``head -c`` into a file (so a runaway writer is
cut off), its exit status, working directory and exported variables handed back to the
persistent shell.  On timeout the terminal's foreground process group is SIGKILLed as a
whole; whatever survives that (a fork bomb racing the kill) is ended by tearing the whole
sandbox down, and the next command gets a fresh one.

Without a sandbox the tool is disabled unless the user explicitly allows an unsandboxed
shell, which then runs in the workspace with the user's own rights.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..records import ToolOutput
from .base import ArgError, get_int, get_str
from .sandbox import INSIDE, ProcessLimit, bwrap_argv, unavailable
from .workspace import Workspace

CONTROL = ".shell"  # the session's command, output and status files, in the workspace
MAX_CAPTURE = 1_000_000
SHOW_HEAD, SHOW_TAIL = 8000, 4000
_RC = r"""PS1='sandbox:\w$ '
ulimit -c 0; ulimit -f 409600 2>/dev/null
__stepdr_run() {
  local n=$1 d=%(dir)s
  ( trap 'pwd > "$d/$n.cwd"; export -p > "$d/$n.env"' EXIT
    exec </dev/null
    . "$d/$n.sh" ) 2>&1 | head -c %(cap)d > "$d/$n.out"
  local rc=${PIPESTATUS[0]}
  [ -s "$d/$n.cwd" ] && cd "$(cat "$d/$n.cwd")" 2>/dev/null
  # declare inside a function makes locals: -g keeps the exported variables global.
  [ -s "$d/$n.env" ] && . <(sed 's/^declare -\([a-zA-Z]*\) /declare -g\1 /' "$d/$n.env") 2>/dev/null
  echo "$rc" > "$d/$n.rc.tmp" && mv "$d/$n.rc.tmp" "$d/$n.rc"
}
touch %(dir)s/ready
"""


class ShellTool:
    name = "shell"

    def __init__(
        self,
        workspace: Workspace,
        allow_unsandboxed: bool = False,
        default_timeout: int = 60,
        max_timeout: int = 600,
    ) -> None:
        self.workspace = workspace
        self.default_timeout = default_timeout
        self.max_timeout = max_timeout
        why = unavailable()
        self.sandboxed = why is None
        self.disabled: str | None = None
        if why is not None and not allow_unsandboxed:
            self.disabled = (
                f"no sandbox: {why}. Install bubblewrap and tmux, or start the run with "
                "--allow-unsandboxed-shell to run commands with your own rights"
            )
        self._sock_dir: Path | None = None
        self._limit: ProcessLimit | None = None
        self._idle_pgid: int | None = None
        self._pane_pid: int | None = None
        self._n = 0

    @property
    def description(self) -> str:
        where = "a sandbox without network" if self.sandboxed else "the workspace (no sandbox)"
        return (
            f"shell: run a bash command in {where}; the workspace is the current directory "
            "and the session (directory, exported variables) persists between calls.\n"
            '  {"command": "ls -la && wc -l notes.md", "timeout": 60}'
        )

    # -- the session ----------------------------------------------------------------------

    def _tmux(self, *args: str, check: bool = True) -> str:
        assert self._sock_dir is not None
        sock = str(self._sock_dir / "tmux.sock")
        done = subprocess.run(
            ["tmux", "-S", sock, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            timeout=20,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TERM": "xterm-256color"},
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def _control(self) -> tuple[Path, str]:
        """The control directory as seen from here and from inside the shell."""
        inner = f"{INSIDE}/{CONTROL}" if self.sandboxed else str(self.workspace.root / CONTROL)
        return self.workspace.root / CONTROL, inner

    def _start(self) -> None:
        host_dir, inner_dir = self._control()
        shutil.rmtree(host_dir, ignore_errors=True)
        host_dir.mkdir(parents=True)
        rc = _RC % {"dir": shlex.quote(inner_dir), "cap": MAX_CAPTURE}
        (host_dir / "rc.sh").write_text(rc)
        bash = ["bash", "--noprofile", "--rcfile", f"{inner_dir}/rc.sh", "-i"]
        argv = bwrap_argv(self.workspace.root, bash) if self.sandboxed else bash
        self._sock_dir = Path(tempfile.mkdtemp(prefix="stepdr-tmux-"))
        if self.sandboxed:
            self._limit = ProcessLimit.create()
        command = shlex.join(argv)
        if self._limit is not None:
            # The pane's process joins the cgroup before it becomes the sandbox.
            procs = shlex.quote(str(self._limit.path / "cgroup.procs"))
            command = f"echo $$ > {procs} && exec {command}"
        self._tmux("new-session", "-d", "-s", "agent", "-x", "200", "-y", "50",
                   "-c", str(self.workspace.root), command)  # fmt: skip
        self._pane_pid = int(self._tmux("display-message", "-p", "-t", "agent", "#{pane_pid}"))
        deadline = time.monotonic() + 15
        while not (host_dir / "ready").exists():
            if time.monotonic() > deadline:
                self._teardown()
                raise RuntimeError("the sandboxed shell did not start within 15 s")
            time.sleep(0.05)
        time.sleep(0.1)  # let bash take the terminal after its rc file
        self._idle_pgid = self._foreground()

    def _foreground(self) -> int | None:
        """The terminal's foreground process group, read from the pane process's stat.

        (tcgetpgrp would need the pane's terminal to be ours; /proc answers for anyone.)
        """
        if self._pane_pid is None:
            return None
        try:
            stat = Path(f"/proc/{self._pane_pid}/stat").read_text()
        except OSError:
            return None
        tpgid = int(stat.rsplit(")", 1)[1].split()[5])
        return tpgid if tpgid > 0 else None

    def _teardown(self) -> None:
        if self._sock_dir is not None:
            self._tmux("kill-server", check=False)
            shutil.rmtree(self._sock_dir, ignore_errors=True)
            self._sock_dir = None
        if self._limit is not None:
            self._limit.remove()
            self._limit = None
        self._idle_pgid = None

    def close(self) -> None:
        self._teardown()

    # -- one command ----------------------------------------------------------------------

    def run(self, args: Mapping[str, Any]) -> ToolOutput:
        command = get_str(args, "command")
        if not command.strip():
            raise ArgError('"command" is empty')
        timeout = get_int(args, "timeout", self.default_timeout, 1, self.max_timeout)
        if self._sock_dir is None:
            self._start()
        host_dir, _ = self._control()
        self._n += 1
        n = self._n
        (host_dir / f"{n}.sh").write_text(command + "\n")
        self._tmux("send-keys", "-t", "agent", "-l", f"__stepdr_run {n}")
        self._tmux("send-keys", "-t", "agent", "Enter")
        rc_file = host_dir / f"{n}.rc"
        start = time.monotonic()
        while not rc_file.exists() and time.monotonic() - start < timeout:
            time.sleep(0.05)
        note = ""
        if not rc_file.exists():
            note = self._kill(rc_file, timeout)
        output = _read_capped(host_dir / f"{n}.out")
        status = rc_file.read_text().strip() if rc_file.exists() else "killed"
        shown = _truncate(output, f"{CONTROL}/{n}.out")
        ok = status == "0" and not note
        return ToolOutput(f"$ {command}\n{shown}\n[exit status {status}]{note}", ok=ok)

    def _kill(self, rc_file: Path, timeout: int) -> str:
        """Kill the running command's process group; restart the sandbox if that fails."""
        fg = self._foreground()
        if fg is not None and fg != self._idle_pgid:
            deadline = time.monotonic() + 1.5
            while time.monotonic() < deadline and not rc_file.exists():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(fg, signal.SIGKILL)
                time.sleep(0.02)
        if rc_file.exists():
            return f"\n[timed out after {timeout} s: the command's process group was killed]"
        self._teardown()
        return (
            f"\n[timed out after {timeout} s: the command could not be stopped alone, so the "
            "whole shell session was killed; the next command starts a fresh one]"
        )


def _read_capped(path: Path) -> str:
    try:
        with path.open("rb") as f:
            data = f.read(MAX_CAPTURE)
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")


def _truncate(text: str, saved: str) -> str:
    if len(text) <= SHOW_HEAD + SHOW_TAIL:
        return text.rstrip("\n")
    cut = len(text) - SHOW_HEAD - SHOW_TAIL
    return (
        f"{text[:SHOW_HEAD]}\n[... {cut} characters cut; the full output is in {saved} ...]\n"
        f"{text[-SHOW_TAIL:]}"
    ).rstrip("\n")

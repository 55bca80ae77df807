"""The shell's sandbox: bubblewrap with no network, a read-only system, only the workspace
writable (besides a private /tmp), and, where the host allows it, a cgroup that caps the
number of processes.

Inside, the workspace is ``/workspace``; ``/tmp`` is a private tmpfs; home directories and
everything else of the host are simply absent.  All namespaces are unshared (so the
network is a lone loopback and the processes live in their own PID namespace), every
capability is dropped, and the sandbox dies with the tmux pane that runs it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
import uuid
from pathlib import Path

INSIDE = "/workspace"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
ENV = {
    "HOME": INSIDE,
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "TERM": "xterm-256color",
    "TMPDIR": "/tmp",
}
MAX_PROCS = 256


def unavailable() -> str | None:
    """Why no sandbox can run here, or None when bubblewrap works."""
    if shutil.which("tmux") is None:
        return "tmux is not installed (Debian package: tmux)"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian package: bubblewrap)"
    try:
        probe = subprocess.run(
            ["bwrap", "--ro-bind", "/", "/", "--unshare-all", "--cap-drop", "ALL", "true"],
            capture_output=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"bubblewrap cannot start: {e}"
    if probe.returncode != 0:
        err = probe.stderr.decode("utf-8", "replace").strip()
        return f"bubblewrap cannot create a sandbox here ({err or probe.returncode})"
    return None


def bwrap_argv(workspace: Path, command: list[str]) -> list[str]:
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--cap-drop", "ALL", "--clearenv"]
    for d in SYSTEM_DIRS:
        if os.path.islink(d):
            argv += ["--symlink", os.readlink(d), d]
        elif os.path.isdir(d):
            argv += ["--ro-bind", d, d]
    argv += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--tmpfs", "/run"]
    argv += ["--bind", str(workspace), INSIDE, "--chdir", INSIDE, "--hostname", "sandbox"]
    for k, v in ENV.items():
        argv += ["--setenv", k, v]
    # The sandbox's own root is a tmpfs: read-only too, so only /workspace (and the private,
    # throwaway /tmp and /run) can be written.
    return [*argv, "--remount-ro", "/", "--", *command]


class ProcessLimit:
    """A pids cgroup for the sandbox, where the host lets us make one (root, or delegated).

    A PID namespace alone does not stop a fork bomb from exhausting the host's PIDs, and
    RLIMIT_NPROC does not bind root; a pids cgroup does both.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, max_procs: int = MAX_PROCS) -> ProcessLimit | None:
        name = f"stepdr-{uuid.uuid4().hex[:12]}"
        for parent in _cgroup_parents():
            path = parent / name
            try:
                path.mkdir()
            except OSError:
                continue
            try:
                (path / "pids.max").write_text(str(max_procs))
                return cls(path)
            except OSError:
                path.rmdir()
        return None

    def procs(self) -> list[int]:
        try:
            return [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
        except OSError:
            return []

    def kill_all(self) -> None:
        for _ in range(100):
            pids = self.procs()
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def remove(self) -> None:
        # Killed processes leave the cgroup only once reaped: retry the rmdir for a while.
        deadline = time.monotonic() + 5
        while True:
            self.kill_all()
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return
                time.sleep(0.05)


def _cgroup_parents() -> list[Path]:
    """Our own cgroup in the v2 hierarchy and in the v1 pids hierarchy, where mounted."""
    out: list[Path] = []
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        rel = rel.lstrip("/")
        if controllers == "" and Path("/sys/fs/cgroup/cgroup.controllers").is_file():
            root = Path("/sys/fs/cgroup")
            try:
                if "pids" in (root / rel / "cgroup.controllers").read_text():
                    out.append(root / rel)
            except OSError:
                continue
        elif "pids" in controllers.split(","):
            out.append(Path("/sys/fs/cgroup/pids") / rel)
    return [p for p in out if os.access(p, os.W_OK)]

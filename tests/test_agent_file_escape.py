"""The file tool never reads or writes outside the run's workspace: 60 escape payloads.

Every payload goes through every action.  An escape is any change outside the workspace,
or any output that shows the contents of a file outside it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from stepdr.agent.records import ToolCall
from stepdr.agent.tools.base import Toolbox
from stepdr.agent.tools.file import FileTool
from stepdr.agent.tools.workspace import PathError, Workspace

SECRET = "TOPSECRET-4f1c"
SYSTEM_MARKER = "root:x:0:0"


def _payloads(outside: Path) -> list[Any]:
    out = str(outside)
    return [
        "../outside/secret.txt",
        "../../outside/secret.txt",
        "../../../../../../../../etc/passwd",
        "/etc/passwd",
        f"{out}/secret.txt",
        f"{out}/new.txt",
        "//etc/passwd",
        "\\etc\\passwd",
        "..\\..\\outside\\secret.txt",
        "sub\\..\\..\\..\\outside\\secret.txt",
        "C:\\Windows\\win.ini",
        "c:/outside/secret.txt",
        "\\\\server\\share\\secret.txt",
        "~/.bashrc",
        "~root/.ssh/id_rsa",
        "a/../../outside/secret.txt",
        "./../outside/secret.txt",
        "sub/../../../outside/secret.txt",
        "sub/./../..",
        "..",
        "../",
        "notes.txt\x00.png",
        "\x00",
        "../\x00",
        "sub/\n../secret",
        "esc_dir/secret.txt",
        "esc_dir/new.txt",
        "esc_dir",
        "esc_file",
        "esc_rel/outside/secret.txt",
        "esc_rel/outside/new.txt",
        "dangling",
        "loop",
        "chain1",
        "chain1/secret.txt",
        "sub/esc_nested/secret.txt",
        "sub/esc_nested/new.txt",
        "proc_root/etc/passwd",
        "hard",
        "esc_dir/../outside/secret.txt",
        "%2e%2e/outside/secret.txt",
        "..%2f..%2foutside%2fsecret.txt",
        "．．/outside/secret.txt",
        "\u2025/outside/secret.txt",
        "file:///etc/passwd",
        "/proc/self/root/etc/passwd",
        f"/proc/self/root{out}/secret.txt",
        "/dev/stdin",
        "../" * 60 + "etc/passwd",
        "a/" * 400 + "x",
        "x" * 5000,
        " ../outside/secret.txt",
        "../outside/secret.txt ",
        "sub/../../outside",
        ["../outside/secret.txt"],
        42,
        None,
        {"path": "../outside/secret.txt"},
        True,
        "esc_dir/../../outside/secret.txt",
    ]


@pytest.fixture
def setup(tmp_path: Path) -> tuple[Path, Path, Workspace]:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET + "\n")
    ws = Workspace(tmp_path / "run" / "workspace")
    root = ws.root
    (root / "notes.txt").write_text("line one\nline two\n")
    (root / "sub").mkdir()
    os.symlink(outside, root / "esc_dir")
    os.symlink(outside / "secret.txt", root / "esc_file")
    os.symlink("../..", root / "esc_rel")
    os.symlink(outside / "new.txt", root / "dangling")
    os.symlink("loop", root / "loop")
    os.symlink("chain2", root / "chain1")
    os.symlink(str(outside), root / "chain2")
    os.symlink("../../../outside", root / "sub" / "esc_nested")
    os.symlink("/proc/self/root", root / "proc_root")
    os.symlink("notes.txt", root / "inner")  # points inside: allowed
    os.link(outside / "secret.txt", root / "hard")
    return tmp_path, outside, ws


def _snapshot(tmp_path: Path, ws: Workspace) -> dict[str, tuple[int, bytes]]:
    """Every file outside the workspace under tmp_path, with its size and bytes."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(tmp_path, followlinks=False):
        if Path(dirpath).resolve().is_relative_to(ws.root):
            dirnames[:] = []
            continue
        for name in filenames:
            p = Path(dirpath) / name
            if p.is_symlink():
                continue
            snap[str(p)] = (p.stat().st_size, p.read_bytes())
    return snap


ACTIONS: list[dict[str, Any]] = [
    {"action": "read"},
    {"action": "stat"},
    {"action": "list"},
    {"action": "write", "content": "PWNED"},
    {"action": "append", "content": "PWNED"},
    {"action": "patch", "anchor": "TOPSECRET", "content": "PWNED"},
]


def test_no_payload_escapes_the_workspace(setup: tuple[Path, Path, Workspace]) -> None:
    tmp_path, outside, ws = setup
    toolbox = Toolbox([FileTool(ws)])
    before = _snapshot(tmp_path, ws)
    system_before = Path("/etc/passwd").read_bytes()
    payloads = _payloads(outside)
    assert len(payloads) >= 50
    escapes, refused = [], 0
    for payload in payloads:
        for action in ACTIONS:
            out = toolbox.run(ToolCall("file", {**action, "path": payload}))
            refused += not out.ok
            if SECRET in out.text or SYSTEM_MARKER in out.text:
                escapes.append((payload, action["action"], "read outside"))
            if _snapshot(tmp_path, ws) != before:
                escapes.append((payload, action["action"], "changed outside"))
                before = _snapshot(tmp_path, ws)
    assert escapes == []
    assert Path("/etc/passwd").read_bytes() == system_before
    assert not (outside / "new.txt").exists()
    assert refused >= 6 * 40  # nearly every payload is refused outright


def test_symlinks_that_stay_inside_work(setup: tuple[Path, Path, Workspace]) -> None:
    _, _, ws = setup
    tool = FileTool(ws)
    assert "line one" in tool.run({"action": "read", "path": "inner"}).text
    tool.run({"action": "write", "path": "inner", "content": "via link\n"})
    assert (ws.root / "notes.txt").read_text() == "via link\n"


@pytest.mark.parametrize("bad", ["../x", "/x", "a/../../x", "x\x00", "~/x", "C:x"])
def test_workspace_parts_refuses(bad: str, tmp_path: Path) -> None:
    with pytest.raises(PathError):
        Workspace(tmp_path).parts(bad)


def test_file_actions_inside_the_workspace(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    tool = FileTool(ws)
    assert tool.run({"action": "write", "path": "d/e/f.md", "content": "a\nb\nc\n"}).ok
    assert tool.run({"action": "append", "path": "d/e/f.md", "content": "d\n"}).ok
    read = tool.run({"action": "read", "path": "d/e/f.md", "offset": 2, "limit": 2}).text
    assert read.splitlines() == ["d/e/f.md: lines 2-3 of 4", "    2  b", "    3  c"]
    assert "f.md  (file, 8 bytes)" in tool.run({"action": "list", "path": "d/e"}).text
    assert "file, 8 bytes" in tool.run({"action": "stat", "path": "d/e/f.md"}).text
    (tmp_path / "bin.dat").write_bytes(b"\x00\x01\x02")
    assert "binary" in tool.run({"action": "read", "path": "bin.dat"}).text


def test_patch_changes_only_the_named_region(tmp_path: Path) -> None:
    ws = Workspace(tmp_path)
    tool = FileTool(ws)
    text = "# Title\n<!-- start -->\nold body\n<!-- end -->\ntail stays\nx x\n"
    ws.write_text("r.md", text)
    assert tool.run(
        {"action": "patch", "path": "r.md", "anchor": "<!-- start -->",
         "end_anchor": "<!-- end -->", "content": "\nnew body\n"}
    ).ok  # fmt: skip
    got = ws.read_text("r.md")
    assert got == text.replace("\nold body\n", "\nnew body\n")
    assert tool.run({"action": "patch", "path": "r.md", "anchor": "Title", "content": "T"}).ok
    assert ws.read_text("r.md").startswith("# T\n")
    dup = tool.run({"action": "patch", "path": "r.md", "anchor": "x", "content": "y"})
    assert not dup.ok and "occurs 2 times" in dup.text
    missing = tool.run({"action": "patch", "path": "r.md", "anchor": "zzz", "content": "y"})
    assert not missing.ok and "does not occur" in missing.text
    assert ws.read_text("r.md").endswith("tail stays\nx x\n")

"""The ``file`` tool: read, write, append, list, stat and patch files in the workspace.

``patch`` edits by anchors, never by line numbers the model may have miscounted: the
anchor text must occur exactly once, and only the named region changes: the anchor itself,
or with ``end_anchor`` the text strictly between the two anchors.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from ..records import ToolOutput
from .base import ArgError, error, get_choice, get_int, get_str
from .workspace import Workspace

ACTIONS = ("read", "write", "append", "list", "stat", "patch")
MAX_READ_BYTES = 20_000_000
MAX_WRITE_CHARS = 2_000_000
MAX_LINES = 400


class FileTool:
    name = "file"
    disabled: str | None = None

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def description(self) -> str:
        return (
            "file: files in your workspace (paths relative to it).\n"
            '  {"action": "read", "path": P, "offset": 1, "limit": 200}  lines offset..\n'
            '  {"action": "write", "path": P, "content": TEXT}  create or replace\n'
            '  {"action": "append", "path": P, "content": TEXT}\n'
            '  {"action": "list", "path": "."}    {"action": "stat", "path": P}\n'
            '  {"action": "patch", "path": P, "anchor": TEXT, "content": NEW}  replace the '
            'anchor (it must occur once); with "end_anchor": E, replace only the text '
            "between anchor and E"
        )

    def run(self, args: Mapping[str, Any]) -> ToolOutput:
        action = get_choice(args, "action", ACTIONS)
        ws = self.workspace
        if action == "list":
            path = get_str(args, "path", ".")
            entries, total = ws.listdir(path)
            lines = [
                f"{e.name}/" if e.kind == "dir" else f"{e.name}  ({e.kind}, {e.size} bytes)"
                for e in entries
            ]
            more = f"\n... {total - len(entries)} more" if total > len(entries) else ""
            return ToolOutput(f"{path}: {total} entries\n" + "\n".join(lines) + more)
        path = get_str(args, "path")
        if action == "stat":
            e = ws.stat(path)
            when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.mtime))
            return ToolOutput(f"{path}: {e.kind}, {e.size} bytes, modified {when} UTC")
        if action == "read":
            return self._read(path, args)
        content = get_str(args, "content")
        if len(content) > MAX_WRITE_CHARS:
            raise ArgError(f"content longer than {MAX_WRITE_CHARS} characters")
        if action == "write":
            n = ws.write_bytes(path, content.encode("utf-8"))
            return ToolOutput(f"wrote {n} bytes to {path}")
        if action == "append":
            n = ws.write_bytes(path, content.encode("utf-8"), append=True)
            return ToolOutput(f"appended {n} bytes to {path}")
        return self._patch(path, content, args)

    def _read(self, path: str, args: Mapping[str, Any]) -> ToolOutput:
        offset = get_int(args, "offset", 1, 1, 10**9)
        limit = get_int(args, "limit", 200, 1, MAX_LINES)
        data = self.workspace.read_bytes(path, MAX_READ_BYTES)
        if b"\x00" in data[:8192]:
            return error(f"{path} is a binary file ({len(data)} bytes); not shown")
        lines = data.decode("utf-8", errors="replace").splitlines()
        chunk = lines[offset - 1 : offset - 1 + limit]
        if not chunk and lines:
            return error(f"{path} has {len(lines)} lines; offset {offset} is past the end")
        last = offset + len(chunk) - 1
        head = f"{path}: lines {offset}-{last} of {len(lines)}"
        body = "\n".join(f"{offset + i:>5}  {line}" for i, line in enumerate(chunk))
        return ToolOutput(f"{head}\n{body}")

    def _patch(self, path: str, content: str, args: Mapping[str, Any]) -> ToolOutput:
        anchor = get_str(args, "anchor")
        if not anchor:
            raise ArgError('"anchor" must not be empty')
        end_anchor = args.get("end_anchor")
        text = self.workspace.read_bytes(path, MAX_READ_BYTES).decode("utf-8")
        count = text.count(anchor)
        if count != 1:
            where = "does not occur" if count == 0 else f"occurs {count} times"
            return error(f"patch refused: the anchor {where} in {path}; it must occur once")
        start = text.index(anchor)
        if end_anchor is None:
            new = text[:start] + content + text[start + len(anchor) :]
        else:
            if not isinstance(end_anchor, str) or not end_anchor:
                raise ArgError('"end_anchor" must be a non-empty string')
            inner = start + len(anchor)
            end = text.find(end_anchor, inner)
            if end < 0:
                return error(f"patch refused: end_anchor does not occur after the anchor in {path}")
            new = text[:inner] + content + text[end:]
        self.workspace.write_bytes(path, new.encode("utf-8"))
        return ToolOutput(f"patched {path}: {len(text)} -> {len(new)} characters")

    def close(self) -> None:
        pass

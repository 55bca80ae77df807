"""The ``todo`` tool: the run's task list, persisted in the workspace as todo.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from ..records import ToolOutput
from .base import ArgError, get_choice, get_int
from .workspace import PathError, Workspace

STATUSES = ("pending", "in_progress", "completed", "blocked")
FILE = "todo.json"
MAX_ITEMS = 100


@dataclass(frozen=True)
class TodoItem:
    id: int
    content: str
    status: str = "pending"


class TodoTool:
    name = "todo"
    disabled: str | None = None

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    @property
    def description(self) -> str:
        return (
            "todo: your task list (kept across steps).\n"
            '  {"action": "add", "items": ["task", ...]}\n'
            '  {"action": "update", "id": N, "status": "pending|in_progress|completed|blocked"}'
            '  (optionally "content": NEW TEXT)\n'
            '  {"action": "list"}'
        )

    def load(self) -> list[TodoItem]:
        try:
            raw = json.loads(self.workspace.read_text(FILE, 1_000_000))
        except PathError:
            return []
        except ValueError:
            raise ArgError(f"{FILE} in the workspace is not valid JSON; rewrite it") from None
        return [TodoItem(int(t["id"]), str(t["content"]), str(t["status"])) for t in raw]

    def _save(self, tasks: list[TodoItem]) -> None:
        self.workspace.write_text(FILE, json.dumps([asdict(t) for t in tasks], indent=1))

    def run(self, args: Mapping[str, Any]) -> ToolOutput:
        action = get_choice(args, "action", ("add", "update", "list"))
        tasks = self.load()
        if action == "add":
            items = args.get("items", args.get("content"))
            if isinstance(items, str):
                items = [items]
            if not isinstance(items, list) or not items:
                raise ArgError('"items" must be a non-empty list of task descriptions')
            next_id = max((t.id for t in tasks), default=0) + 1
            for item in items:
                text = item.get("content") if isinstance(item, dict) else item
                if not isinstance(text, str) or not text.strip():
                    raise ArgError("every item must be a non-empty string")
                tasks.append(TodoItem(next_id, text.strip()))
                next_id += 1
            if len(tasks) > MAX_ITEMS:
                raise ArgError(f"the list holds at most {MAX_ITEMS} tasks")
            self._save(tasks)
        elif action == "update":
            tid = get_int(args, "id", 0, 1, 10**6)
            idx = next((i for i, t in enumerate(tasks) if t.id == tid), None)
            if idx is None:
                raise ArgError(f"no task with id {tid}; ids are {[t.id for t in tasks]}")
            task = tasks[idx]
            if "status" in args:
                task = replace(task, status=get_choice(args, "status", STATUSES))
            content = args.get("content")
            if isinstance(content, str) and content.strip():
                task = replace(task, content=content.strip())
            tasks[idx] = task
            self._save(tasks)
        return ToolOutput(render(tasks))

    def close(self) -> None:
        pass


def render(tasks: list[TodoItem]) -> str:
    if not tasks:
        return "the task list is empty"
    marks = {"pending": "[ ]", "in_progress": "[~]", "completed": "[x]", "blocked": "[!]"}
    return "\n".join(
        f"{marks.get(t.status, '[?]')} {t.id}. {t.content} ({t.status})" for t in tasks
    )

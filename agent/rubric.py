"""Research tasks with checklist rubrics, read leniently from JSONL.

One task per line.  The layout of the public ResearchRubrics data loads as it is, and so do
the obvious variants, because every team names these fields a little differently:

- id: ``id`` | ``task_id`` | ``sample_id`` | ``uid`` (default: ``task-<line number>``)
- prompt: ``prompt`` | ``question`` | ``query`` | ``task`` | ``instruction``
- rubric: ``rubrics`` | ``rubric`` | ``criteria`` | ``rubric_items`` | ``checklist``; a list,
  or that list JSON-encoded in a string (as some dataset exports store nested columns)
- an item: an object, or a bare string (weight 1); in an object the text is ``criterion`` |
  ``text`` | ``description`` | ``requirement`` | ``rubric`` | ``item``, the weight ``weight`` |
  ``points`` | ``score`` (a number or numeric string; default 1; negative = a penalty), the
  category ``axis`` | ``category`` | ``type`` | ``dimension`` (default ``""``)
- reference sources (optional): ``sources`` | ``reference_sources`` | ``references`` |
  ``urls``: URLs, or objects with a ``url``

Blank lines and lines starting with ``#`` are skipped.  A file holding one JSON array of
tasks is read too.  Anything that cannot be made into a task is a one-line error naming
the line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stepdr.core.errors import TaskFormatError

ID_KEYS = ("id", "task_id", "sample_id", "uid")
PROMPT_KEYS = ("prompt", "question", "query", "task", "instruction")
RUBRIC_KEYS = ("rubrics", "rubric", "criteria", "rubric_items", "checklist")
TEXT_KEYS = ("criterion", "text", "description", "requirement", "rubric", "item")
WEIGHT_KEYS = ("weight", "points", "score")
CATEGORY_KEYS = ("axis", "category", "type", "dimension")
SOURCE_KEYS = ("sources", "reference_sources", "references", "urls")


@dataclass(frozen=True)
class RubricItem:
    text: str
    weight: float = 1.0
    category: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "weight": self.weight, "category": self.category}


@dataclass(frozen=True)
class Task:
    id: str
    prompt: str
    items: tuple[RubricItem, ...]
    sources: tuple[str, ...] = ()

    @property
    def total_positive(self) -> float:
        return sum(i.weight for i in self.items if i.weight > 0)


def _first(d: Mapping[str, Any], keys: Sequence[str]) -> Any:
    for k in keys:
        if k in d and d[k] not in (None, ""):
            return d[k]
    return None


def _weight(value: Any, where: str) -> float:
    if value is None:
        return 1.0
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TaskFormatError(f"{where}: weight {value!r} is not a number") from None


def parse_item(raw: Any, where: str) -> RubricItem:
    if isinstance(raw, str):
        if not raw.strip():
            raise TaskFormatError(f"{where}: an empty rubric item")
        return RubricItem(raw.strip())
    if not isinstance(raw, Mapping):
        raise TaskFormatError(f"{where}: a rubric item must be an object or a string")
    text = _first(raw, TEXT_KEYS)
    if not isinstance(text, str) or not text.strip():
        raise TaskFormatError(f"{where}: a rubric item has no text ({' | '.join(TEXT_KEYS)})")
    category = _first(raw, CATEGORY_KEYS)
    return RubricItem(
        text.strip(), _weight(_first(raw, WEIGHT_KEYS), where), str(category or "").strip()
    )


def _sources(raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    if isinstance(raw, str):
        return (raw,)
    out = []
    for s in raw if isinstance(raw, list) else [raw]:
        url = s.get("url") if isinstance(s, Mapping) else s
        if isinstance(url, str) and url.strip():
            out.append(url.strip())
    return tuple(out)


def parse_task(raw: Any, where: str, default_id: str) -> Task:
    if not isinstance(raw, Mapping):
        raise TaskFormatError(f"{where}: a task must be a JSON object")
    prompt = _first(raw, PROMPT_KEYS)
    if not isinstance(prompt, str) or not prompt.strip():
        raise TaskFormatError(f"{where}: no prompt ({' | '.join(PROMPT_KEYS)})")
    rubric = _first(raw, RUBRIC_KEYS)
    if isinstance(rubric, str):
        try:
            rubric = json.loads(rubric)
        except ValueError:
            raise TaskFormatError(f"{where}: the rubric string is not a JSON list") from None
    if isinstance(rubric, Mapping):  # {"items": [...]} or {"criteria": [...]}
        rubric = _first(rubric, ("items", *RUBRIC_KEYS))
    if not isinstance(rubric, list) or not rubric:
        raise TaskFormatError(f"{where}: no rubric items ({' | '.join(RUBRIC_KEYS)})")
    items = tuple(parse_item(r, f"{where}, item {i}") for i, r in enumerate(rubric, 1))
    if not any(i.weight > 0 for i in items):
        raise TaskFormatError(f"{where}: the rubric has no item of positive weight")
    task_id = _first(raw, ID_KEYS)
    return Task(
        str(task_id if task_id is not None else default_id).strip(),
        prompt.strip(),
        items,
        _sources(_first(raw, SOURCE_KEYS)),
    )


def load_tasks(path: Path) -> list[Task]:
    """The tasks of a JSONL file (or a JSON array), with unique ids."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as e:
        raise TaskFormatError(f"cannot read the tasks {path}: {e.strerror or e}") from None
    rows: list[tuple[str, Any]] = []
    if text.lstrip().startswith("["):
        try:
            data = json.loads(text)
        except ValueError as e:
            raise TaskFormatError(f"{path}: not a JSON array of tasks ({e})") from None
        rows = [(f"{path.name}: task {i}", r) for i, r in enumerate(data, 1)]
    else:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                rows.append((f"{path.name}:{n}", json.loads(line)))
            except ValueError as e:
                raise TaskFormatError(f"{path.name}:{n}: not JSON ({e})") from None
    tasks = [parse_task(r, where, f"task-{i}") for i, (where, r) in enumerate(rows, 1)]
    if not tasks:
        raise TaskFormatError(f"{path}: no tasks")
    seen: set[str] = set()
    for t in tasks:
        if t.id in seen:
            raise TaskFormatError(f"{path}: the task id {t.id!r} appears twice")
        seen.add(t.id)
    return tasks


def pick_task(tasks: Sequence[Task], task_id: str | None, question: str | None) -> Task:
    """The task meant: by id, else the one whose prompt is the run's question, else the only one."""
    if task_id is not None:
        for t in tasks:
            if t.id == task_id:
                return t
        raise TaskFormatError(f"no task {task_id!r} in the tasks file")
    if question is not None:
        flat = " ".join(question.split())
        for t in tasks:
            if " ".join(t.prompt.split()) == flat:
                return t
    if len(tasks) == 1:
        return tasks[0]
    raise TaskFormatError("the tasks file holds several tasks: name one with --task")

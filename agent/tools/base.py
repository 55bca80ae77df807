"""The tool seam: what a tool is, how arguments are checked, and the toolbox that runs calls.

A tool never raises into the loop: a bad argument, a refused path or an unexpected
exception all come back as an error ``ToolOutput`` whose text tells the model what to fix.
A call a tool declines (``Refused``), or that repeats an earlier call of a tool whose
results cannot change during a run (one with a ``signature``), comes back as a refusal.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from stepdr.core.errors import StepdrError

from ..records import ToolCall, ToolOutput
from .workspace import PathError

log = logging.getLogger(__name__)


class ArgError(ValueError):
    """A tool argument that is missing or of the wrong kind."""


class Refused(Exception):
    """A call not run on purpose; ``note`` tells the model why, ``facts`` the trajectory."""

    def __init__(self, note: str, **facts: Any) -> None:
        super().__init__(note)
        self.note = note
        self.facts = facts


class Tool(Protocol):
    name: str

    @property
    def description(self) -> str:
        """How to call the tool, for the system prompt."""
        ...

    @property
    def disabled(self) -> str | None:
        """Why the tool cannot run here, or None when it can."""
        ...

    def run(self, args: Mapping[str, Any]) -> ToolOutput: ...

    def close(self) -> None: ...


def error(text: str) -> ToolOutput:
    return ToolOutput(text, ok=False)


def get_str(args: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = args.get(key, default)
    if value is None:
        raise ArgError(f'missing argument "{key}"')
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ArgError(f'"{key}" must be a string, got {type(value).__name__}')
    return value


def get_int(args: Mapping[str, Any], key: str, default: int, lo: int, hi: int) -> int:
    value = args.get(key, default)
    if value is None:
        value = default
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgError(f'"{key}" must be an integer, got {value!r}')
    if not lo <= value <= hi:
        raise ArgError(f'"{key}" must be between {lo} and {hi}, got {value}')
    return value


def get_str_list(args: Mapping[str, Any], key: str, max_items: int) -> list[str]:
    value = args.get(key)
    if value is None:
        return []
    if isinstance(value, str):  # small models often pass one query as a plain string
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ArgError(f'"{key}" must be a list of strings')
    value = [v for v in value if v.strip()]
    if len(value) > max_items:
        raise ArgError(f'"{key}" takes at most {max_items} items, got {len(value)}')
    return value


def get_choice(args: Mapping[str, Any], key: str, choices: Sequence[str]) -> str:
    value = get_str(args, key)
    if value not in choices:
        raise ArgError(f'"{key}" must be one of {", ".join(choices)}; got {value!r}')
    return value


class Toolbox:
    """The agent's environment: its tools by name, run one call at a time."""

    def __init__(self, tools: Sequence[Tool]) -> None:
        self.tools = {t.name: t for t in tools}
        self._first: dict[tuple[str, str], str] = {}  # (tool, signature) -> first call id

    def describe(self) -> str:
        return "\n\n".join(t.description for t in self.tools.values() if t.disabled is None)

    def status(self) -> dict[str, str]:
        return {name: t.disabled or "enabled" for name, t in self.tools.items()}

    def run(self, call: ToolCall, call_id: str = "") -> ToolOutput:
        tool = self.tools.get(call.name)
        if tool is None:
            names = ", ".join(n for n, t in self.tools.items() if t.disabled is None)
            return error(f"unknown tool {call.name!r}; the tools are: {names}")
        if tool.disabled is not None:
            return error(f"the {call.name} tool is disabled: {tool.disabled}")
        try:
            key = self._key(call)
            first = self._first.get(key) if key else None
            if first is not None:
                raise Refused(
                    f"[agent] This call repeats {first} exactly; its result is above and "
                    "would be the same. Try something else, or answer.",
                    repeat_of=first,
                )
            out = tool.run(call.arguments)
            if key:
                self._first.setdefault(key, call_id)
            return out
        except Refused as e:
            return ToolOutput(e.note, ok=False, refused={"refused": True, **e.facts})
        except (ArgError, PathError, StepdrError) as e:
            return error(f"{call.name}: {e}")
        except Exception as e:  # a tool bug must not end the run; the model may work around it
            log.exception("tool %s failed", call.name)
            return error(f"{call.name} failed: {type(e).__name__}: {e}")

    def replay(self, events: Sequence[Mapping[str, Any]]) -> None:
        """Remember the calls a trajectory ran before a crash, as ``run`` would have."""
        refused = {e["call_id"] for e in events if e["type"] == "observation" and e.get("refused")}
        for e in events:
            if e["type"] == "tool_call" and e["call_id"] not in refused:
                key = self._key(ToolCall(e["name"], e["arguments"]))
                if key:
                    self._first.setdefault(key, e["call_id"])

    def _key(self, call: ToolCall) -> tuple[str, str] | None:
        signature = getattr(self.tools.get(call.name), "signature", None)
        if signature is None:
            return None
        try:
            return call.name, str(signature(call.arguments))
        except (ArgError, TypeError, ValueError):
            return None

    def close(self) -> None:
        for t in self.tools.values():
            try:
                t.close()
            except Exception:
                log.exception("closing tool %s", t.name)

"""Read a model reply leniently: thoughts, tool calls and the final answer.

Small models get the format only partly right, so the parser accepts JSON in code fences,
single-quoted (Python-literal) objects, trailing commas, unbalanced braces, an
``arguments`` value that is itself a JSON string, and a missing closing tag.  What it
still cannot read becomes an error message for the model, never an exception.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from .records import ParsedReply, ToolCall

CALL_FORMAT = '<tool_call>{"name": "TOOL", "arguments": {...}}</tool_call>'

_CALL_OPEN = re.compile(r"<\s*tool_call\s*>", re.I)
_CALL_END = re.compile(r"<\s*/\s*tool_call\s*>|<\s*tool_call\s*>|<\s*answer\s*>", re.I)
_ANSWER = re.compile(r"<\s*answer\s*>(.*?)(?:<\s*/\s*answer\s*>|$)", re.I | re.S)
_THINK = re.compile(r"<\s*think\s*>(.*?)(?:<\s*/\s*think\s*>|$)", re.I | re.S)
_HALLUCINATED = re.compile(r"<\s*tool_response\s*>", re.I)
_FENCE = re.compile(r"```[a-zA-Z_]*\s*\n?(.*?)(?:```|$)", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def parse_reply(text: str) -> ParsedReply:
    # A model that writes its own <tool_response> is imagining results: drop them.
    cut = _HALLUCINATED.search(text)
    if cut:
        text = text[: cut.start()]
    thought_m = _THINK.search(text)
    answer_m = _ANSWER.search(text)
    answer = answer_m.group(1).strip() if answer_m else None
    outside = text[: answer_m.start()] + text[answer_m.end() :] if answer_m else text
    if thought_m:
        thought = thought_m.group(1).strip()
    else:
        first = re.search(r"<\s*(tool_call|answer)\s*>", text, re.I)
        thought = (text[: first.start()] if first else text).strip()
    bodies = _call_bodies(outside)
    tagged = bool(bodies)
    if not tagged and answer is None:
        bodies = _untagged_bodies(outside)
    calls: list[ToolCall] = []
    errors: list[str] = []
    for i, body in enumerate(bodies, 1):
        try:
            calls.append(_to_call(body))
        except ValueError as e:
            if tagged:
                errors.append(f"tool call {i} was not understood: {e}. Use {CALL_FORMAT}")
    return ParsedReply(thought, tuple(calls), tuple(errors), answer)


def _call_bodies(text: str) -> list[str]:
    bodies = []
    for m in _CALL_OPEN.finditer(text):
        rest = text[m.end() :]
        end = _CALL_END.search(rest)
        bodies.append(rest[: end.start()] if end else rest)
    return bodies


def _untagged_bodies(text: str) -> list[str]:
    """JSON objects written without tags: fenced blocks first, else bare objects."""
    fenced = [m.group(1) for m in _FENCE.finditer(text)]
    candidates = fenced or [text[i:] for i, ch in enumerate(text) if ch == "{"][:1]
    out = []
    for c in candidates:
        try:
            obj = _load_object(c)
        except ValueError:
            continue
        if "name" in obj and any(k in obj for k in ("arguments", "parameters", "args")):
            out.append(c)
    return out


def _to_call(body: str) -> ToolCall:
    obj = _load_object(body)
    fn = obj.get("function")
    if isinstance(fn, dict):  # the OpenAI shape: {"function": {"name", "arguments"}}
        obj = fn
    name = obj.get("name") or obj.get("tool")
    if not isinstance(name, str) or not name.strip():
        raise ValueError('it has no "name"')
    args: Any = obj.get("arguments", obj.get("parameters", obj.get("args", {})))
    if isinstance(args, str):
        args = _load_object(args) if args.strip() else {}
    if args is None:
        args = {}
    if not isinstance(args, dict):
        raise ValueError(f'"arguments" must be an object, got {type(args).__name__}')
    return ToolCall(name.strip(), args)


def _load_object(text: str) -> dict[str, Any]:
    fence = _FENCE.search(text)
    if fence and "{" not in text[: fence.start()]:
        text = fence.group(1)
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object found")
    candidate = _balanced(text[start:])
    errors = []
    for attempt in (candidate, _TRAILING_COMMA.sub(r"\1", candidate)):
        try:
            obj = json.loads(attempt)
        except ValueError as e:
            errors.append(str(e))
        else:
            if isinstance(obj, dict):
                return obj
            raise ValueError("the JSON is not an object")
        try:
            lit = ast.literal_eval(_pythonish(attempt))
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            continue
        if isinstance(lit, dict):
            return {str(k): v for k, v in lit.items()}
    raise ValueError(f"invalid JSON ({errors[0]})")


def _pythonish(text: str) -> str:
    """JSON's literals as Python's, outside strings, so literal_eval reads single quotes."""
    out, quote, i = [], "", 0
    words = {"true": "True", "false": "False", "null": "None"}
    while i < len(text):
        ch = text[i]
        if quote:
            out.append(ch)
            if ch == "\\" and i + 1 < len(text):
                out.append(text[i + 1])
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
            out.append(ch)
        else:
            m = re.match(r"true|false|null", text[i:])
            if m and not (i and (text[i - 1].isalnum() or text[i - 1] == "_")):
                out.append(words[m.group(0)])
                i += len(m.group(0))
                continue
            out.append(ch)
        i += 1
    return "".join(out)


def _balanced(text: str) -> str:
    """The first {...} object of ``text``, closed when the reply stopped early."""
    stack: list[str] = []
    quote, i = "", 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            stack.append("}" if ch == "{" else "]")
        elif ch in "}]" and stack:
            stack.pop()
            if not stack:
                return text[: i + 1]
        i += 1
    body = text.rstrip().rstrip(",")
    if quote:
        body += quote
    return body + "".join(reversed(stack))

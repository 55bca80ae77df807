"""The records that flow through a run: messages, tool calls, observations, sources, results."""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Message:
    role: str  # system | user | assistant
    content: str

    def to_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Completion:
    """One model reply with what it cost."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class ParsedReply:
    """What the parser made of a reply; ``errors`` become observations, never exceptions."""

    thought: str
    calls: tuple[ToolCall, ...] = ()
    errors: tuple[str, ...] = ()
    answer: str | None = None


@dataclass(frozen=True)
class Source:
    """A page or passage the run retrieved: the only things a report may cite."""

    cite_id: str
    url: str
    title: str
    site: str
    authority: float | None = None
    published: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Source:
        return cls(
            cite_id=str(d["cite_id"]),
            url=str(d["url"]),
            title=str(d.get("title") or ""),
            site=str(d.get("site") or ""),
            authority=d.get("authority"),
            published=d.get("published"),
        )


@dataclass(frozen=True)
class ToolOutput:
    """What a tool hands back: text for the model, and the sources it retrieved."""

    text: str
    ok: bool = True
    sources: tuple[Source, ...] = ()


class ExitStatus(enum.StrEnum):
    ANSWERED = "answered"
    FORCED_ANSWER = "forced_answer"  # a budget ran low and the model answered when asked
    MAX_STEPS = "max_steps"
    MAX_CONTEXT = "max_context"
    WALL_TIME = "wall_time"
    MODEL_ERROR = "model_error"
    INTERRUPTED = "interrupted"

    @property
    def answered(self) -> bool:
        return self in (ExitStatus.ANSWERED, ExitStatus.FORCED_ANSWER)


@dataclass(frozen=True)
class Budgets:
    max_steps: int = 30
    max_context_tokens: int = 32768
    wall_time_s: float = 1800.0
    max_calls_per_step: int = 8
    max_new_tokens: int = 2048
    # Room kept free for the final answer: the answer is forced before the context fills.
    answer_reserve: int = 1024

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class RunResult:
    status: ExitStatus
    reason: str
    run_dir: Path
    steps: int
    seconds: float
    answer: str | None = None
    report: Path | None = None
    removed_citations: tuple[str, ...] = ()
    cited: tuple[Source, ...] = field(default=())

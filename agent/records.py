"""The records that flow through a run: messages, tool calls, observations, sources, results."""

from __future__ import annotations

import enum
from collections.abc import Mapping
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
    reused_tokens: int = 0  # prompt tokens whose keys and values a cache already held


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
    tier: int | None = None  # the domain list's tier; None for unlisted or unknown pages

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
            tier=d.get("tier"),
        )


@dataclass(frozen=True)
class ToolOutput:
    """What a tool hands back: text for the model, and the sources it retrieved.

    ``evidence`` lets a citation be checked against what the run saw of its source,
    without reading the text back.  ``refused`` is set when the call did not run: the
    text is then the agent's own note to the model, and the mapping holds the facts of
    why, for the trajectory.
    """

    text: str
    ok: bool = True
    sources: tuple[Source, ...] = ()
    refused: Mapping[str, Any] | None = None
    evidence: Mapping[str, str] | None = None  # what the text shows of each source, by id


@dataclass(frozen=True)
class OpeningCall:
    """A call the agent makes before the model's first step, and the line that shows it."""

    call: ToolCall
    intro: str


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

    def spent(self, step: int, elapsed: float) -> tuple[ExitStatus, str] | None:
        """The budget that is used up, and why, or None while the run may go on."""
        if step >= self.max_steps:
            return ExitStatus.MAX_STEPS, f"no answer within {self.max_steps} steps"
        if elapsed >= self.wall_time_s:
            return ExitStatus.WALL_TIME, f"no answer within {self.wall_time_s:g} s"
        return None

    def running_low(self, step: int, elapsed: float, slowest: float, tokens: int) -> str | None:
        """Which budget is about to run out ("steps", "time", "context"), or None."""
        if step >= self.max_steps - 1:
            return "steps"
        # Room for this step and one more, in which the answer gets written.
        if elapsed + 2 * slowest >= self.wall_time_s:
            return "time"
        if tokens + self.answer_reserve >= self.max_context_tokens:
            return "context"
        return None


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

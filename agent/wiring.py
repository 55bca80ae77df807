"""From a run's settings to a ready Agent: model, workspace, tools, presenter.

The settings are stored in the trajectory's first event, so ``resume`` rebuilds the same
agent from the run directory alone.  Secrets never go there: only the names of the
environment variables that hold them.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from stepdr.core.errors import ConfigError

from .answers import LenientAnswers, StrictAnswers
from .context import Presenter
from .loop import Agent, Listener
from .models.base import Model
from .records import Budgets
from .tools.base import Tool, Toolbox
from .tools.file import FileTool
from .tools.image import AnalyzeImageTool, TransformersVision
from .tools.shell import ShellTool
from .tools.surfer import HttpBackend, LocalBackend, SearchBackend, WebSurferTool, search_first
from .tools.todo import TodoTool
from .tools.workspace import Workspace

WORKSPACE = "workspace"


@dataclass(frozen=True)
class Settings:
    data_dir: str = "data"
    model: str | None = None  # a transformers directory or a .gguf file; None: the default
    endpoint: str | None = None  # an OpenAI-compatible base URL, instead of a local model
    api_model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    search_url: str | None = None  # the search server, instead of the index in-process
    search_token_env: str = "STEPDR_SEARCH_TOKEN"
    shell: bool = True
    allow_unsandboxed_shell: bool = False
    vision_model: str | None = None
    offload_chars: int = 6000
    seed_search: bool = True
    answers: str = "lenient"  # lenient (small models) | strict (only <answer> counts)
    budgets: Budgets = field(default_factory=Budgets)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Settings:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in d.items() if k in known}
        values["budgets"] = Budgets(**values.get("budgets", {}))
        return cls(**values)


def new_run_dir(data_dir: Path, question: str) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", question.lower()).strip("-")[:40] or "run"
    return data_dir / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{slug}"


def build_model(s: Settings, say: Any = lambda _: None) -> Model:
    if s.endpoint:
        from .models.openai import OpenAIChatModel

        return OpenAIChatModel(s.endpoint, s.api_model, os.environ.get(s.api_key_env))
    from .models.hf import TransformersModel

    if s.model:
        return TransformersModel(Path(s.model))
    from .assets import ensure_default_model

    return TransformersModel(ensure_default_model(Path(s.data_dir), say))


def build_backend(s: Settings) -> SearchBackend:
    if s.search_url:
        return HttpBackend(s.search_url, os.environ.get(s.search_token_env))
    return LocalBackend(Path(s.data_dir))


def build_tools(s: Settings, workspace: Workspace, backend: SearchBackend) -> list[Tool]:
    vision = TransformersVision(Path(s.vision_model)) if s.vision_model else None
    shell: list[Tool] = [ShellTool(workspace, s.allow_unsandboxed_shell)] if s.shell else []
    return [
        WebSurferTool(backend),
        TodoTool(workspace),
        FileTool(workspace),
        *shell,
        AnalyzeImageTool(workspace, vision, Path(s.data_dir)),
    ]


ANSWER_POLICIES: dict[str, type[LenientAnswers] | type[StrictAnswers]] = {
    "lenient": LenientAnswers,
    "strict": StrictAnswers,
}


def make_agent(
    s: Settings,
    run_dir: Path,
    model: Model,
    backend: SearchBackend,
    listener: Listener | None = None,
) -> Agent:
    workspace = Workspace(run_dir / WORKSPACE)
    toolbox = Toolbox(build_tools(s, workspace, backend))
    presenter = Presenter(workspace, threshold=s.offload_chars)
    if s.answers not in ANSWER_POLICIES:
        raise ConfigError(f"answers must be one of {', '.join(ANSWER_POLICIES)}, got {s.answers!r}")
    opening = search_first if s.seed_search else None
    answers = ANSWER_POLICIES[s.answers]()
    return Agent(model, toolbox, presenter, run_dir, s.budgets, listener, opening, answers)

"""The bundled research agent (ReAct loop over the search backend).

A small loop (``loop.Agent``) over two injected seams: a ``Model`` (transformers, an
OpenAI-compatible endpoint, or a script) and a ``Toolbox`` (batch_web_surfer, todo, file,
shell, analyze_image).  Runs are recorded as trajectory.jsonl and end in a cited report.md;
``stepdr-agent run`` / ``resume`` drive it from the command line.
"""

from .loop import Agent
from .records import Budgets, ExitStatus, RunResult

__all__ = ["Agent", "Budgets", "ExitStatus", "RunResult"]

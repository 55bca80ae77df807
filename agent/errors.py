"""The agent's errors, under stepdr's one hierarchy so the CLI prints them in one line.

StepdrError
 └── AgentError
      ├── ModelError        a model cannot be loaded or fails to answer
      └── TrajectoryError   a run directory cannot be resumed
"""

from __future__ import annotations

from stepdr.crawl.errors import StepdrError


class AgentError(StepdrError):
    pass


class ModelError(AgentError):
    pass


class TrajectoryError(AgentError):
    pass

"""The agent's tools (Step-DeepResearch's set), one module each, and the workspace they share."""

from .base import Tool, Toolbox
from .workspace import PathError, Workspace

__all__ = ["PathError", "Tool", "Toolbox", "Workspace"]

"""Model backends behind one seam: transformers, an OpenAI-compatible endpoint, a script."""

from .base import Model
from .scripted import ScriptedModel

__all__ = ["Model", "ScriptedModel"]

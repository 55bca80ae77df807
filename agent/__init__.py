"""The bundled research agent (ReAct loop over the search backend)."""

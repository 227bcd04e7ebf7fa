"""Using what a run made: classify new recordings (predict), the gallery of classified beats."""

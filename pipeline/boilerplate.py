"""Where per-source line memory used to live; it is now ``pipeline.cleaning.memory``."""

from pipeline.cleaning.memory import EDGE_LINES, MAX_WORDS, LineMemory, candidate_lines, line_key

__all__ = ["EDGE_LINES", "MAX_WORDS", "LineMemory", "candidate_lines", "line_key"]

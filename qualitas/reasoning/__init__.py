"""Reasoning over the graph: trace (reverse and forward), and later gap analysis."""

from qualitas.reasoning.trace import RecallScope, Trace, recall_scope, reverse_trace

__all__ = ["RecallScope", "Trace", "recall_scope", "reverse_trace"]

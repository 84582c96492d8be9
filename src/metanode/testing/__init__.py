"""Deterministic test harnesses: the consensus simulator and its signature model (layer 4)."""

"""Metanode: a community-run BFT chain whose nodes host deterministic, auditable applications."""

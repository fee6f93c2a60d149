"""Reelstack's embedded local cloud (no Docker): see docs/architecture.md."""

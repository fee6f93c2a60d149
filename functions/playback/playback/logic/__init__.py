"""Playback rules (no AWS here: the ports in ``playback.logic.ports`` are all it talks to)."""

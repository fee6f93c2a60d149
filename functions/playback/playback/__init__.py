"""Reelstack playback service: sessions with entitlements and stream leases, heartbeats that save
and resume the viewer's position, continue watching, and view events for recommendations."""

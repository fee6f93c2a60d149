"""Reelstack recommendations: the engine, the home page API, the training job, trending."""

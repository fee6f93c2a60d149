"""Pydantic vocabulary of the transcode service: step payloads, domain values, errors, settings."""

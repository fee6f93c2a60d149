"""Catalog service: title metadata, admin ingest (presigned uploads) and the READY-title listing."""

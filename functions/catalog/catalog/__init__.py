"""Catalog service: title metadata, admin ingest (presigned uploads) and the title listing."""

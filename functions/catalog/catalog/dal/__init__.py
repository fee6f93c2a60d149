"""Data access of the catalog: DynamoDB for titles, S3 for presigned ingest uploads."""

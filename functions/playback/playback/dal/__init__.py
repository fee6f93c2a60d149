"""Adapters of the playback ports: DynamoDB, the catalog table, the accounts table, Kinesis, the CDN signer."""

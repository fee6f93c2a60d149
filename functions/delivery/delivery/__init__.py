"""Delivery service: pre-positions newly published titles on the CDN (the seed's Kafka -> Open
Connect fill). Shape: handlers/ (SQS records in), logic/ (what to fetch, how many copies, at most
once per title version), dal/ (signed GETs through the CDN, the prefill ledger in DynamoDB),
models/, wiring.py."""

"""AWS adapters of the ports in `transcode.logic.ports` (boto3 only; endpoints from the environment)."""

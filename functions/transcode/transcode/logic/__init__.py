"""The workflow's rules, one module per step (ingest = probe, planning, encoding, assembly,
publishing, failure). No boto3: AWS is reached through the ports in `ports.py`."""

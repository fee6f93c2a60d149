"""Reelstack transcoding pipeline: the Step Functions task handlers and what they call.

The accounts service's shape: `handlers/` (one module per workflow step: parse the step's pydantic
payload -> one `logic` call -> the output model as JSON), `logic/` (the steps' rules, no boto3;
AWS through the ports in `logic/ports.py`), `dal/` (the S3, DynamoDB and EventBridge adapters),
`models/` (payloads, domain values, errors, settings), `wiring.py` (settings and adapters from the
environment, once per cold start). `media/` is the media library the logic drives: probe parsing,
ladder, chunk grid, ffmpeg command lines and runs, HLS packaging; no AWS.
"""

"""Reelstack transcoding pipeline: the media library and the Step Functions task handlers.

`transcode.media` holds pure media logic (probe parsing, ladder, chunk plan, ffmpeg command lines)
with no AWS calls; `transcode.storage`, `transcode.catalog` and `transcode.events` are the only
modules that talk to AWS (boto3 only, endpoint taken from the environment); `transcode.handlers`
glues them together, one module per workflow step.
"""

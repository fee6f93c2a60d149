"""Reelstack shared code, shipped as the `shared` Lambda layer (``/opt/python/reelstack_common``).

Kept deliberately small: HTTP edge helpers (``http``), the error vocabulary (``errors``),
token verification (``auth``) and cache-aware DynamoDB access (``dynamo``).
"""

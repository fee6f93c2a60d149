"""Reelstack shared code, shipped as the `shared` Lambda layer (``/opt/python/reelstack_common``).

Kept deliberately small: HTTP edge helpers (``http``), the error vocabulary (``errors``),
token verification (``auth``), cache-aware DynamoDB access (``dynamo``), and the viewer facts
several services enforce: ``plans``, ``maturity`` and ``viewer`` (the accounts table's read contract).
"""

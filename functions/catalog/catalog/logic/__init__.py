"""Catalog business rules (no AWS SDK)."""

"""The search service: an OpenSearch index over the catalog (typo-tolerant search, typeahead,
maturity filters) fed by the catalog's events."""

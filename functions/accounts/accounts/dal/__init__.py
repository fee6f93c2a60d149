"""Adapters for the ports in ``accounts.logic.ports``: DynamoDB, Cognito, payment providers."""

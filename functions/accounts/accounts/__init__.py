"""Reelstack accounts service: sign-up/login (Cognito), profiles, plans, subscriptions, billing."""

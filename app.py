#!/usr/bin/env python3
"""CDK entry point (cdk.json runs it). Everything is assembled in infra.app.build_app."""

from infra.app import build_app

build_app().synth()

"""Demo function for the demo_map state machine."""

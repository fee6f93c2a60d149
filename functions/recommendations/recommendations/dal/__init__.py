"""AWS adapters of the ports in ``recommendations.logic.ports``."""

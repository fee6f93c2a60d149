"""Rules of the recommendations service: no boto3 here, only the ports in ``logic.ports``."""

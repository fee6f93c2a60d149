"""Business rules of the accounts service. No boto3 here: storage, identity and payments are ports."""

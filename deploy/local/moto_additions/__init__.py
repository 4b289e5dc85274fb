"""What the local CloudFormation engine adds to moto, one module per addition (see cloudformation.py)."""

"""Lease stores for `deploy.lease`: one module per cloud's conditional writes."""

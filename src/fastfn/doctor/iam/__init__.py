"""OCI policy language: parse statements and matching rules, evaluate requests, lint."""

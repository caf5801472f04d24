"""Vault secrets (20180608) and Secret bundles (20190301).

models.py: wire models and limits; api.py: the service and its routes."""

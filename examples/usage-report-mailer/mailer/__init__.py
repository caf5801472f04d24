"""Seed 003's usage-report mailer: one module per phase, wired together in pipeline.py."""

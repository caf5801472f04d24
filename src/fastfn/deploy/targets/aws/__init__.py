"""The AWS Lambda target: packages (build.py)."""

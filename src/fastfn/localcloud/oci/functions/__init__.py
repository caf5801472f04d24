"""Functions (20181201 and 20260325): applications, functions, invoke on the local Fn
platform. models.py: wire models; runner.py: invoking (the Invoker); api.py: routes."""

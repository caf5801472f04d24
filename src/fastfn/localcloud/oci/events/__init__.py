"""Events (20181201): rules and delivery of matching events to functions.

models.py: wire models and limits; api.py: the service and its routes."""

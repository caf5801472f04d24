"""Object Storage: buckets and objects.

models.py: wire models and limits; api.py: the service and its routes."""

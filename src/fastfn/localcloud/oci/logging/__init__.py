"""Logging (20200531: log groups, logs, work requests) and Logging Search (20190909).

models.py: wire models and kinds; backend.py: log groups and logs (plain methods);
query.py: the subset of the logging query language the local cloud answers; search.py:
function output as OCI Logging records; api.py: the routes; permissions.py: operations ->
permissions."""

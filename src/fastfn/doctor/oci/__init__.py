"""OCI Functions checks: facts gathered once (facts.py), one module per group of checks,
run in order by run.py."""

"""Local Compute: instance configurations (what a local instance runs)."""

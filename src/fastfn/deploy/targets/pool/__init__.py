"""An OCI instance pool behind a load balancer as a deploy target (seed 002):
`outputs.py` (the Terraform outputs the deploy reads)."""

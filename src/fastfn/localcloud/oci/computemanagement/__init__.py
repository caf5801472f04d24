"""Local Compute Management: instance pools of local instances, attached to load balancers."""

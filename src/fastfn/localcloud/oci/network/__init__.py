"""Virtual Network (20160918): VCNs, subnets, gateways, security lists and NSGs."""

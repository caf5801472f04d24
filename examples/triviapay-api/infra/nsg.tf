# Load balancer NSG: the listener only from the fronting proxy's ranges; out only to the
# API NSG on the backend port (traffic and health checks).
resource "oci_core_network_security_group" "lb" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main.id
  display_name   = "${var.name_prefix}-lb-nsg"
}

resource "oci_core_network_security_group_security_rule" "lb_ingress" {
  # checkov:skip=CKV_OCI_21: stateful on purpose. A stateless ingress rule needs a matching
  # stateless egress rule to every client's ephemeral ports; stateful rules admit the
  # replies alone, and the source is already narrowed to the fronting proxy's ranges.
  for_each = toset(var.lb_ingress_cidrs)

  network_security_group_id = oci_core_network_security_group.lb.id
  direction                 = "INGRESS"
  protocol                  = "6"
  source_type               = "CIDR_BLOCK"
  source                    = each.value
  description               = "listener from ${each.value}"
  stateless                 = false

  tcp_options {
    destination_port_range {
      min = var.lb_listener_port
      max = var.lb_listener_port
    }
  }
}

resource "oci_core_network_security_group_security_rule" "lb_to_api" {
  network_security_group_id = oci_core_network_security_group.lb.id
  direction                 = "EGRESS"
  protocol                  = "6"
  destination_type          = "NETWORK_SECURITY_GROUP"
  destination               = oci_core_network_security_group.api.id
  description               = "to the API on the backend port"
  stateless                 = false

  tcp_options {
    destination_port_range {
      min = var.backend_port
      max = var.backend_port
    }
  }
}

# API NSG: in only from the LB NSG on the backend port (no SSH); out to Oracle services
# (OCIR, Vault, Logging) through the service gateway, and HTTPS through the NAT gateway
# (package installs at boot, the database provider).
resource "oci_core_network_security_group" "api" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.main.id
  display_name   = "${var.name_prefix}-api-nsg"
}

resource "oci_core_network_security_group_security_rule" "api_from_lb" {
  # checkov:skip=CKV_OCI_21: stateful on purpose. A stateless ingress rule needs a matching
  # stateless egress rule to every client's ephemeral ports; stateful rules admit the
  # replies alone, and the source is already narrowed to the LB NSG.
  network_security_group_id = oci_core_network_security_group.api.id
  direction                 = "INGRESS"
  protocol                  = "6"
  source_type               = "NETWORK_SECURITY_GROUP"
  source                    = oci_core_network_security_group.lb.id
  description               = "backend port from the load balancer"
  stateless                 = false

  tcp_options {
    destination_port_range {
      min = var.backend_port
      max = var.backend_port
    }
  }
}

resource "oci_core_network_security_group_security_rule" "api_to_services" {
  network_security_group_id = oci_core_network_security_group.api.id
  direction                 = "EGRESS"
  protocol                  = "6"
  destination_type          = "SERVICE_CIDR_BLOCK"
  destination               = local.oracle_services.cidr_block
  description               = "Oracle services (OCIR, Vault, Logging) via the service gateway"
  stateless                 = false

  tcp_options {
    destination_port_range {
      min = 443
      max = 443
    }
  }
}

resource "oci_core_network_security_group_security_rule" "api_https_out" {
  network_security_group_id = oci_core_network_security_group.api.id
  direction                 = "EGRESS"
  protocol                  = "6"
  destination_type          = "CIDR_BLOCK"
  destination               = "0.0.0.0/0"
  description               = "HTTPS out through the NAT gateway"
  stateless                 = false

  tcp_options {
    destination_port_range {
      min = 443
      max = 443
    }
  }
}

resource "oci_core_network_security_group_security_rule" "api_to_db" {
  for_each = toset(var.db_cidrs)

  network_security_group_id = oci_core_network_security_group.api.id
  direction                 = "EGRESS"
  protocol                  = "6"
  destination_type          = "CIDR_BLOCK"
  destination               = each.value
  description               = "database ${each.value}"
  stateless                 = false

  tcp_options {
    destination_port_range {
      min = var.db_port
      max = var.db_port
    }
  }
}

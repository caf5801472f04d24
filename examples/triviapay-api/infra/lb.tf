# Public flexible load balancer in the public subnet, reachable only through the LB NSG.
resource "oci_load_balancer_load_balancer" "api" {
  compartment_id             = var.compartment_ocid
  display_name               = "${var.name_prefix}-lb"
  shape                      = "flexible"
  subnet_ids                 = [oci_core_subnet.public.id]
  network_security_group_ids = [oci_core_network_security_group.lb.id]
  is_private                 = false

  shape_details {
    minimum_bandwidth_in_mbps = var.lb_min_bandwidth_mbps
    maximum_bandwidth_in_mbps = var.lb_max_bandwidth_mbps
  }
}

# The pool attaches to this backend set (compute.tf): each new instance is added with its
# primary VNIC's private IP on backend_port and gets traffic once GET /health answers 200.
resource "oci_load_balancer_backend_set" "api" {
  load_balancer_id = oci_load_balancer_load_balancer.api.id
  name             = var.backend_set_name
  policy           = "LEAST_CONNECTIONS"

  health_checker {
    protocol            = "HTTP"
    port                = var.backend_port
    url_path            = var.health_check_path
    return_code         = 200
    interval_ms         = 10000
    timeout_in_millis   = 3000
    retries             = 3
    is_force_plain_text = true
  }
}

# HTTP: TLS ends at Cloudflare (seed 002, "Cloudflare Fronting"), and the listener admits
# only Cloudflare's ranges (nsg.tf).
resource "oci_load_balancer_listener" "http" {
  load_balancer_id         = oci_load_balancer_load_balancer.api.id
  name                     = "http"
  default_backend_set_name = oci_load_balancer_backend_set.api.name
  port                     = var.lb_listener_port
  protocol                 = "HTTP"

  connection_configuration {
    idle_timeout_in_seconds = 60
  }
}

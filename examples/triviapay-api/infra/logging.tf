resource "oci_logging_log_group" "app" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-logs"
  description    = "Application and load balancer logs (Grafana reads them)"
}

# The app's JSON lines, shipped by the unified agent (UMA) from APP_LOG_PATH.
resource "oci_logging_log" "app" {
  display_name       = "${var.name_prefix}-app"
  log_group_id       = oci_logging_log_group.app.id
  log_type           = "CUSTOM"
  is_enabled         = true
  retention_duration = 30
}

resource "oci_logging_log" "lb_access" {
  display_name       = "${var.name_prefix}-lb-access"
  log_group_id       = oci_logging_log_group.app.id
  log_type           = "SERVICE"
  is_enabled         = true
  retention_duration = 30

  configuration {
    compartment_id = var.compartment_ocid

    source {
      category    = "access"
      resource    = oci_load_balancer_load_balancer.api.id
      service     = "loadbalancer"
      source_type = "OCISERVICE"
    }
  }
}

# Tails the log file across rotations (logrotate renames it and creates a new one; the
# agent follows the path) on every instance of the dynamic group.
resource "oci_logging_unified_agent_configuration" "app" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-app-tail"
  description    = "Tail the app's JSON log into the custom log"
  is_enabled     = true

  service_configuration {
    configuration_type = "LOGGING"

    destination {
      log_object_id = oci_logging_log.app.id
    }

    sources {
      name        = "app-log"
      source_type = "LOG_TAIL"
      paths       = var.log_source_paths

      parser {
        parser_type = "JSON"
      }
    }
  }

  group_association {
    group_list = [oci_identity_dynamic_group.instances.id]
  }
}

# The first instance configuration. Each deploy (`fastfn deploy --target pool`) writes
# the next one (the image by digest in metadata `container_image`) and rolls the pool
# onto it, so the pool ignores later changes of its configuration and size (the rolling
# update and autoscaling own those).
locals {
  cloud_init = templatefile("${path.module}/templates/cloud-init.yaml.tftpl", {
    backend_port = var.backend_port
    app_log_path = var.app_log_path
    logrotate    = file("${path.module}/templates/logrotate.conf")
  })
}

resource "oci_core_instance_configuration" "api" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-api-initial"

  instance_details {
    instance_type = "compute"

    launch_details {
      compartment_id = var.compartment_ocid
      shape          = var.instance_shape

      shape_config {
        ocpus         = var.instance_ocpus
        memory_in_gbs = var.instance_memory_gbs
      }

      source_details {
        source_type = "image"
        image_id    = var.instance_image_id
      }

      create_vnic_details {
        subnet_id        = oci_core_subnet.private.id
        assign_public_ip = false
        nsg_ids          = [oci_core_network_security_group.api.id]
      }

      # Read at boot by cloud-init from the instance metadata service (IMDS v2).
      metadata = {
        user_data                 = base64encode(local.cloud_init)
        container_image           = var.container_image
        PORT                      = tostring(var.backend_port)
        app_env_secret_id         = oci_vault_secret.app["app_env"].id
        ocir_username_secret_id   = oci_vault_secret.app["ocir_username"].id
        ocir_auth_token_secret_id = oci_vault_secret.app["ocir_auth_token"].id
        ocir_registry             = var.ocir_registry
      }

      instance_options {
        are_legacy_imds_endpoints_disabled = true
      }

      agent_config {
        is_monitoring_disabled = false
        is_management_disabled = false

        plugins_config {
          name          = "Custom Logs Monitoring"
          desired_state = "ENABLED"
        }
      }
    }
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "oci_core_instance_pool" "api" {
  compartment_id            = var.compartment_ocid
  display_name              = "${var.name_prefix}-api-pool"
  instance_configuration_id = oci_core_instance_configuration.api.id
  size                      = var.pool_size

  placement_configurations {
    availability_domain = local.availability_domain
    primary_subnet_id   = oci_core_subnet.private.id
  }

  # New instances join the backend set with their primary VNIC's private IP.
  load_balancers {
    load_balancer_id = oci_load_balancer_load_balancer.api.id
    backend_set_name = oci_load_balancer_backend_set.api.name
    port             = var.backend_port
    vnic_selection   = "PrimaryVnic"
  }

  lifecycle {
    ignore_changes = [instance_configuration_id, size]
  }
}

resource "oci_autoscaling_auto_scaling_configuration" "api" {
  compartment_id       = var.compartment_ocid
  display_name         = "${var.name_prefix}-api-cpu"
  cool_down_in_seconds = 300
  is_enabled           = true

  auto_scaling_resources {
    id   = oci_core_instance_pool.api.id
    type = "instancePool"
  }

  policies {
    display_name = "cpu"
    policy_type  = "threshold"

    capacity {
      initial = var.pool_size
      min     = var.autoscaling_min
      max     = var.autoscaling_max
    }

    rules {
      display_name = "scale-out"

      action {
        type  = "CHANGE_COUNT_BY"
        value = 1
      }

      metric {
        metric_type = "CPU_UTILIZATION"

        threshold {
          operator = "GT"
          value    = var.autoscaling_scale_out_cpu
        }
      }
    }

    rules {
      display_name = "scale-in"

      action {
        type  = "CHANGE_COUNT_BY"
        value = -1
      }

      metric {
        metric_type = "CPU_UTILIZATION"

        threshold {
          operator = "LT"
          value    = var.autoscaling_scale_in_cpu
        }
      }
    }
  }
}

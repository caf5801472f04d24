# Seed 002's outputs, with exactly its names: `fastfn deploy --target pool` and the
# oci-deploy workflow read them from the state object (renaming one breaks the deploy).

output "backend_port" {
  description = "App PORT = container port = LB backend port."
  value       = var.backend_port
}

output "instance_pool_id" {
  value = oci_core_instance_pool.api.id
}

output "private_subnet_id" {
  description = "Subnet of the instances' VNICs (VNIC_SUBNET_ID of the rollout)."
  value       = oci_core_subnet.private.id
}

output "api_nsg_id" {
  value = oci_core_network_security_group.api.id
}

output "lb_id" {
  value = oci_load_balancer_load_balancer.api.id
}

output "lb_backend_set_name" {
  value = oci_load_balancer_backend_set.api.name
}

output "app_env_secret_id" {
  value = oci_vault_secret.app["app_env"].id
}

output "ocir_username_secret_id" {
  value = oci_vault_secret.app["ocir_username"].id
}

output "ocir_auth_token_secret_id" {
  value = oci_vault_secret.app["ocir_auth_token"].id
}

output "availability_domain" {
  value = local.availability_domain
}

output "compartment_ocid" {
  value = var.compartment_ocid
}

output "instance_image_id" {
  value = var.instance_image_id
}

output "instance_shape" {
  value = var.instance_shape
}

output "instance_ocpus" {
  value = var.instance_ocpus
}

output "instance_memory_gbs" {
  value = var.instance_memory_gbs
}

output "ocir_namespace" {
  value = var.ocir_namespace
}

output "ocir_registry" {
  value = var.ocir_registry
}

output "ocir_repo_name" {
  value = oci_artifacts_container_repository.api.display_name
}

output "ocir_repo_url" {
  value = local.ocir_repo_url
}

output "uma_configuration_id" {
  value = oci_logging_unified_agent_configuration.app.id
}

output "app_log_id" {
  value = oci_logging_log.app.id
}

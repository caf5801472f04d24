terraform {
  # 1.12 is the first release with the native "oci" state backend (backend.tf).
  required_version = ">= 1.12.0"

  required_providers {
    oci = {
      source  = "oracle/oci"
      version = ">= 6.0.0, < 8.0.0"
    }
  }
}

# Credentials come from the environment, never from this module: an API-key profile on a
# laptop, or the session token the infra-ci workflow obtains from GitHub OIDC
# (oci_auth = "SecurityToken", oci_config_profile = "DEFAULT").
provider "oci" {
  region              = var.region
  auth                = var.oci_auth
  config_file_profile = var.oci_config_profile
}

# The home region, where IAM resources (the instances' dynamic group) are written.
provider "oci" {
  alias               = "home"
  region              = coalesce(var.home_region, var.region)
  auth                = var.oci_auth
  config_file_profile = var.oci_config_profile
}

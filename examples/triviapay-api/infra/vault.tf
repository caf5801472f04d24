# Vault, a master key, and three secret containers whose content is a placeholder: real
# values are put in with `oci vault secret update` after apply (README.md), so they never
# reach the plan or the state. ignore_changes keeps Terraform from writing the placeholder
# back over them.
resource "oci_kms_vault" "app" {
  compartment_id = var.compartment_ocid
  display_name   = "${var.name_prefix}-vault"
  vault_type     = "DEFAULT"
}

resource "oci_kms_key" "secrets" {
  compartment_id      = var.compartment_ocid
  display_name        = "${var.name_prefix}-secrets-key"
  management_endpoint = oci_kms_vault.app.management_endpoint
  protection_mode     = "HSM"

  key_shape {
    algorithm = "AES"
    length    = 32
  }
}

locals {
  # base64("CHANGEME"): the only content Terraform ever writes into a secret.
  secret_placeholder = "Q0hBTkdFTUU="
  secrets = {
    app_env         = "Base64 of the service's .env (DATABASE_URL, ...), read at boot"
    ocir_username   = "OCIR username (<namespace>/<user>) for image pulls and pushes"
    ocir_auth_token = "OCIR auth token of that user"
  }
}

resource "oci_vault_secret" "app" {
  for_each = local.secrets

  compartment_id = var.compartment_ocid
  vault_id       = oci_kms_vault.app.id
  key_id         = oci_kms_key.secrets.id
  secret_name    = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  description    = each.value

  secret_content {
    content_type = "BASE64"
    content      = local.secret_placeholder
  }

  lifecycle {
    ignore_changes = [secret_content]
  }
}

# The pool's instances, as a dynamic group: they read their secrets (app env, OCIR
# credentials) from this vault only, pull from OCIR, and the unified agent writes the
# custom log. IAM writes go to the home region.
resource "oci_identity_dynamic_group" "instances" {
  provider       = oci.home
  compartment_id = var.tenancy_ocid
  name           = "${var.name_prefix}-pool-instances"
  description    = "Instances of the ${var.name_prefix} pool"
  matching_rule  = "ALL {instance.compartment.id = '${var.compartment_ocid}'}"
}

resource "oci_identity_policy" "instances" {
  provider       = oci.home
  compartment_id = var.compartment_ocid
  name           = "${var.name_prefix}-pool-instances"
  description    = "What the ${var.name_prefix} pool's instances may do"
  statements = [
    "Allow dynamic-group ${oci_identity_dynamic_group.instances.name} to read secret-bundles in compartment ${var.compartment_name} where target.vault.id = '${oci_kms_vault.app.id}'",
    "Allow dynamic-group ${oci_identity_dynamic_group.instances.name} to read repos in compartment ${var.compartment_name}",
    "Allow dynamic-group ${oci_identity_dynamic_group.instances.name} to use log-content in compartment ${var.compartment_name}",
  ]
}

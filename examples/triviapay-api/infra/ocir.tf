# The repository is created here, in the target compartment: a first `docker push` to a
# missing repository would create it in the root compartment instead.
resource "oci_artifacts_container_repository" "api" {
  compartment_id = var.compartment_ocid
  display_name   = var.ocir_repo_name
  is_public      = false
  is_immutable   = false
}

locals {
  ocir_repo_url = "${var.ocir_registry}/${var.ocir_namespace}/${var.ocir_repo_name}"
}

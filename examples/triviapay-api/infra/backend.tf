# Remote state in OCI Object Storage (Terraform's native "oci" backend). The bucket is
# created out of band with versioning on (see README.md); a deploy reads this module's
# outputs from the same object. Only the key is fixed here: bucket, namespace, region
# (and auth, for the session token in CI) are given at init time, e.g.
#   terraform init -backend-config=backend.hcl        (copy backend.hcl.example)
# The backend has no compartment argument: the bucket's compartment is implied by it.
terraform {
  backend "oci" {
    key = "triviapay/terraform.tfstate"
  }
}

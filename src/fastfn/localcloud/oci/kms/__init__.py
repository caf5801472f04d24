"""Key Management (KMS, 20180608): vaults and their keys.

models.py: the documents and their ids; backend.py: the lookups; api.py: the routes (the
vault API and each vault's management API, served by the same local server);
permissions.py: operations -> permissions."""

from fastfn.localcloud.oci.kms.models import default_key_id

__all__ = ["default_key_id"]

"""Identity (20160918): tenancy, compartments, users, groups, dynamic groups, policies."""

from fastfn.localcloud.oci.tenancy import Tenancy, TenancyFileError

__all__ = ["Tenancy", "TenancyFileError"]

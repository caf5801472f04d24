"""Local OCI services that the real oci SDK talks to."""

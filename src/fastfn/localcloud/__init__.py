"""Local cloud: Fn platform, API gateway and local OCI services, for offline runs."""

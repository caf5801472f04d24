"""What every local OCI service stands on: state-dir layout, store, wire helpers, errors,
ids, request signing and the small protocols services use to reach each other."""

"""OCI policy checks for people: lint (the language itself is `fastfn.iam`)."""

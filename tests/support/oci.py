"""Constants shared by the local OCI cloud tests."""

from pathlib import Path

APPS = Path(__file__).resolve().parents[1] / "localcloud" / "oci" / "apps"
IMAGE = "fra.ocir.io/fastfnlocal/tests/ocifn:1"

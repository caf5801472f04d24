"""Constants shared by the local OCI cloud tests."""

from pathlib import Path

APPS = Path(__file__).parent / "apps"
IMAGE = "fra.ocir.io/fastfnlocal/tests/ocifn:1"

"""`fastfn push`: a service's image in the local registry, named by `--image` the way
`oci fn function create --image` names it."""

from __future__ import annotations

import json
from pathlib import Path

import oci
from oci.functions.models import (
    CreateApplicationDetails,
    CreateContainerImageFunctionSourceDetails,
    CreateFunctionDetails,
)
from typer.testing import CliRunner

from fastfn.cli import app as cli_app
from fastfn.localcloud.oci import LocalCloud

IMAGE = "fra.ocir.io/fastfnlocal/shop:1"


def test_pushed_image_runs_as_a_function(cloud: LocalCloud, state_dir: Path,
                                         tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    runner = CliRunner()
    service = tmp_path / "shop"
    monkeypatch.chdir(tmp_path)
    made = runner.invoke(cli_app, ["init", "shop"])
    assert made.exit_code == 0, made.output
    pushed = runner.invoke(cli_app, ["push", str(service), "--image", IMAGE,
                                     "--state-dir", str(state_dir), "--json"])
    assert pushed.exit_code == 0, pushed.output
    answer = json.loads(pushed.output)
    assert answer["image"] == IMAGE and answer["digest"].startswith("sha256:")

    management = cloud.client(oci.functions.FunctionsManagementClient)
    app = management.create_application(CreateApplicationDetails(
        compartment_id=cloud.compartment_id, display_name="shop",
        subnet_ids=[cloud.subnet_id])).data
    fn = management.create_function(CreateFunctionDetails(
        display_name="shop", application_id=app.id, memory_in_mbs=256,
        config={"FASTFN_DEFAULT_ROUTE": "GET /health"},
        source_details=CreateContainerImageFunctionSourceDetails(image=IMAGE))).data
    assert fn.source_details.image_digest == answer["digest"]  # pinned at create
    invoke = oci.functions.FunctionsInvokeClient(cloud.config,
                                                 service_endpoint=fn.invoke_endpoint)
    got = invoke.invoke_function(fn.id, invoke_function_body=b"")
    assert got.status == 200
    assert json.loads(got.data.content)["status"] == "ok"

    # The default name is the one fastfn deploy uses; a digest in --image is refused.
    again = runner.invoke(cli_app, ["push", str(service), "--state-dir", str(state_dir),
                                    "--json"])
    assert json.loads(again.output)["image"] == "local.ocir.io/fastfn/shop:default"
    bad = runner.invoke(cli_app, ["push", str(service), "--state-dir", str(state_dir),
                                  "--image", f"{IMAGE}@sha256:abc"])
    assert bad.exit_code != 0 and "--image" in bad.output

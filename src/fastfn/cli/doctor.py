"""`fastfn doctor`: read-only checks of a deployed stage, on the local cloud or real OCI.

The function is the stage's recorded deploy (`.fastfn/deploy/<stage>.json`), or
`--function-id`. Exit 1 when any check fails, 2 when the doctor cannot start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from fastfn.cli.common import fail
from fastfn.cli.deploy import AS_JSON, DIR_ARG, STAGE
from fastfn.cli.target_options import CLOUD_STATE, OCI_CONFIG, PROFILE

STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def _clients(cloud_state: Path, oci_profile: str | None, oci_config: str | None,
             registry_user: str | None) -> Any:
    import os

    import oci

    from fastfn.doctor.oci.facts import Clients
    from fastfn.doctor.oci.registry import RegistryReader, signed_reader

    if oci_profile:
        try:
            config = oci.config.from_file(oci_config or oci.config.DEFAULT_LOCATION,
                                          oci_profile)
        except (oci.exceptions.ConfigFileNotFound, oci.exceptions.ProfileNotFound,
                oci.exceptions.InvalidConfig) as exc:
            raise fail(f"--oci-profile {oci_profile}: {exc}", 2) from None
        signer = None
        if config.get("security_token_file"):
            token = Path(config["security_token_file"]).expanduser().read_text().strip()
            key = oci.signer.load_private_key_from_file(config["key_file"])
            signer = oci.auth.signers.SecurityTokenSigner(token, key)
        token = os.environ.get("FASTFN_OCIR_TOKEN")
        login = (registry_user, token) if registry_user and token else None
        return Clients(config, signer=signer, registry=RegistryReader(login=login))
    from fastfn.localcloud.oci import running

    cloud = running(cloud_state)
    if cloud is None:
        raise fail(f"no local cloud is running on {cloud_state}: start one with "
                   f"`fastfn cloud up --state-dir {cloud_state}`, or pass --oci-profile", 2)
    config = oci.config.from_file(str(cloud.config_file))
    return Clients(config, endpoint=cloud.endpoint,
                   registry=signed_reader(config, cloud.endpoint))


def _function_id(service_dir: Path, stage: str | None, given: str | None) -> str:
    if given:
        return given
    from fastfn.deploy import state
    from fastfn.deploy.models import stage_key

    recorded = state.load(service_dir, stage_key(stage))
    function = recorded.resources.get("function") if recorded is not None else None
    if function is None:
        raise fail(f"stage {stage_key(stage)!r} of {service_dir} has no recorded deploy "
                   f"({state.path_for(service_dir, stage_key(stage))}): deploy it first, "
                   "or pass --function-id", 2)
    return function


def _expected_timeout(service_dir: Path, stage: str | None) -> int | None:
    from fastfn.manifest import ManifestError, load

    try:
        return load(service_dir).resolve(stage).timeout
    except ManifestError:
        return None


def print_report(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from fastfn.cli.ids import shorten_ocids

    out = Console(width=80, highlight=False)
    out.print(Text(f"function {report.target['function_id']} ({report.target['region']})"))
    table = Table(show_lines=True, width=80)
    table.add_column("status", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("cause / fix", ratio=1, overflow="fold")
    for f in report.sorted():
        # OCIDs shortened in the table (`--json` has them whole)
        body = Text(shorten_ocids(f.cause))
        if f.fix:
            body.append(f"\nfix: {shorten_ocids(f.fix)}", style="green")
        table.add_row(Text(f.status, style=STYLE[f.status]), Text(f.check), body)
    out.print(table)
    counts = {s: sum(1 for f in report.findings if f.status == s)
              for s in ("fail", "warn", "ok", "skip")}
    out.print(", ".join(f"{n} {s}" for s, n in counts.items()))


def doctor(
    service_dir: Path = DIR_ARG, stage: str = STAGE,
    function_id: str = typer.Option(None, "--function-id",
                                    help="the function's OCID (default: the stage's deploy)"),
    cloud_state: Path = CLOUD_STATE, oci_profile: str = PROFILE,
    oci_config: str = OCI_CONFIG,
    registry_user: str = typer.Option(
        None, "--registry-user", envvar="FASTFN_OCIR_USER",
        help="OCIR login <namespace>/<user> to read image manifests (real OCI; the auth "
             "token comes from FASTFN_OCIR_TOKEN)"),
    as_json: bool = AS_JSON,
) -> None:
    """Diagnose a deployed function (read-only): image, registry, policies, network,
    config, API key, func.yaml and CMD; each finding with its fix. Exit 1 on failures."""
    from fastfn.doctor.oci.run import diagnose
    from fastfn.doctor.service import read_service

    fid = _function_id(service_dir, stage, function_id)
    clients = _clients(cloud_state, oci_profile, oci_config, registry_user)
    service = read_service(service_dir, _expected_timeout(service_dir, stage)) \
        if service_dir.is_dir() else None
    report = diagnose(clients, fid, service)
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        print_report(report)
    if report.failed:
        raise typer.Exit(1)

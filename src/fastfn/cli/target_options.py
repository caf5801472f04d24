"""The options that say where a stage goes, declared once for every deploy command.

`@with_target` appends them to a command's parameters and hands the command one `Where`
instead; `Where.target(manifest)` makes the target of the chosen kind (`--target`, else the
manifest's `target:`) from `deploy.targets.base.TargetOptions`. By default every target is
the embedded local cloud on `--cloud-state`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from fastfn.cli.common import fail

# The options other commands about a deployed stage share (`fastfn doctor`).
CLOUD_STATE = typer.Option(
    Path(".fastfn") / "cloud", "--cloud-state", envvar="FASTFN_CLOUD_STATE",
    help="local cloud state dir: the target unless --profile")
PROFILE = typer.Option(
    None, "--profile", "--oci-profile", envvar=["FASTFN_PROFILE", "FASTFN_OCI_PROFILE"],
    help="the real cloud, with this profile (oci config / AWS)")
OCI_CONFIG = typer.Option(None, "--oci-config", envvar="OCI_CONFIG_FILE",
                          help="oci config file (default ~/.oci/config)")

_OPTIONS: dict[str, tuple[Any, Any]] = {
    "target_kind": (str | None, typer.Option(
        None, "--target", envvar="FASTFN_TARGET",
        help="oci, aws or pool (default: the manifest's target)")),
    "cloud_state": (Path, CLOUD_STATE),
    "profile": (str | None, PROFILE),
    "config_file": (str | None, OCI_CONFIG),
    "region": (str | None, typer.Option(None, "--region", envvar="FASTFN_REGION",
                                        help="region (real cloud)")),
    "compartment": (str | None, typer.Option(
        None, "--compartment", envvar="FASTFN_COMPARTMENT",
        help="OCI compartment OCID (real OCI)")),
    "subnet": (list[str], typer.Option(
        [], "--subnet", envvar="FASTFN_SUBNET", help="subnet OCID (real OCI; repeatable)")),
    "nsg": (list[str], typer.Option(
        [], "--nsg", envvar="FASTFN_NSG",
        help="network security group OCID (real OCI; repeatable)")),
    "image": (str | None, typer.Option(
        None, "--image", envvar="FASTFN_IMAGE",
        help="pushed image as <repo>:<tag>@sha256:<digest> (real cloud)")),
    "set_": (list[str], typer.Option(
        [], "--set", help="target setting KEY=VALUE (repeatable)")),
}


class Where:
    """The target options one command was given."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.kind: str | None = values.pop("target_kind")
        self.values = values

    def options(self) -> Any:
        from fastfn.deploy.targets.base import TargetOptions

        settings: dict[str, str] = {}
        for item in self.values["set_"]:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise fail(f"--set must look like KEY=VALUE, got {item!r}")
            settings[key] = value
        return TargetOptions(
            cloud_state=self.values["cloud_state"], profile=self.values["profile"],
            config_file=self.values["config_file"], region=self.values["region"],
            compartment=self.values["compartment"], subnets=tuple(self.values["subnet"]),
            nsgs=tuple(self.values["nsg"]), image=self.values["image"], settings=settings)

    def target(self, manifest: Any) -> Any:
        from fastfn.deploy.errors import TargetError
        from fastfn.deploy.targets.base import REGISTRY, make_target

        kind = self.kind or manifest.target
        if kind not in REGISTRY:
            raise fail(f"--target: unknown target {kind!r}; one of {', '.join(REGISTRY)}")
        try:
            return make_target(kind, self.options())
        except TargetError as exc:
            raise fail(str(exc)) from None


def with_target(command: Callable[..., Any]) -> Callable[..., Any]:
    """`command(..., where: Where)` becomes a typer command with the target options."""
    signature = inspect.signature(command, eval_str=True)
    own = [p for p in signature.parameters.values() if p.name != "where"]
    added = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=option,
                               annotation=annotation)
             for name, (annotation, option) in _OPTIONS.items()]

    @functools.wraps(command)
    def wrapper(**kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in _OPTIONS}
        return command(**kwargs, where=Where(values))

    wrapper.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*own, *added])
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *added]}
    return wrapper

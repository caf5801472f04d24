"""For the doctor's tests: a local cloud loaded with a tenancy built in the test, a
function deployed into it through the real SDK, and the doctor run against it."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import oci
import yaml

from fastfn.doctor.findings import Finding, Report
from fastfn.doctor.oci.facts import Clients
from fastfn.doctor.oci.registry import signed_reader
from fastfn.doctor.oci.run import diagnose
from fastfn.doctor.service import read_service
from fastfn.localcloud.oci import LocalCloud

SEED_001 = Path(__file__).resolve().parents[2] / "examples" / "items" / "seed001-tenancy.yaml"
IMAGE = "fra.ocir.io/frpowqeyehes/hello-world-app/postgres-inserter:4f2a9c1"
APP = "from fastapi import FastAPI\napp = FastAPI()\n"


def seed001() -> dict[str, Any]:
    return copy.deepcopy(yaml.safe_load(SEED_001.read_text()))


class Deployed:
    def __init__(self, cloud: LocalCloud, function_id: str, service_dir: Path) -> None:
        self.cloud, self.function_id, self.service_dir = cloud, function_id, service_dir

    def report(self, service_dir: Path | None = None, expected_timeout: int | None = None,
               registry: bool = True) -> Report:
        service = read_service(service_dir or self.service_dir, expected_timeout)
        config, endpoint = self.cloud.config, self.cloud.endpoint
        reader = signed_reader(config, endpoint) if registry else None
        return diagnose(Clients(config, endpoint=endpoint, registry=reader),
                        self.function_id, service)

    def findings(self, check: str, **kwargs: Any) -> list[Finding]:
        found = [f for f in self.report(**kwargs).findings if f.check == check]
        assert found, f"no {check} finding"
        return found

    def status(self, check: str, **kwargs: Any) -> str:
        return self.findings(check, **kwargs)[0].status


def _by_name(docs: list[dict[str, Any]], name: str) -> str:
    return next(d["id"] for d in docs if name in (d.get("name"), d.get("displayName")))


@contextmanager
def deployed(tmp_path: Path, tenancy: dict[str, Any], *, image: str = IMAGE,
             pushed: str | None = None, config: dict[str, str] | None = None,
             command: list[str] | None = None, platforms: list[str] | None = None,
             shape: str = "GENERIC_X86",
             timeout: int = 60, nsgs: tuple[str, ...] = (),
             image_policy: dict[str, Any] | None = None,
             subnet: str = "private") -> Iterator[Deployed]:
    root = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    src = root / "src"
    src.mkdir(parents=True)
    (src / "main.py").write_text(APP)
    (root / "tenancy.yaml").write_text(yaml.safe_dump(tenancy))
    with LocalCloud(root / "state", tenancy_file=root / "tenancy.yaml") as cloud:
        cloud.images.put(pushed or image, src, "main:app", command, platforms)
        by_kind = cloud.services.tenancy.by_kind  # type: ignore[union-attr]
        sandbox = _by_name(by_kind["compartment"], "Sandbox")
        fns = cloud.client(oci.functions.FunctionsManagementClient)
        m = oci.functions.models
        app = fns.create_application(m.CreateApplicationDetails(
            compartment_id=sandbox, display_name="hello-world-app", shape=shape,
            subnet_ids=[_by_name(by_kind["subnet"], subnet)],
            network_security_group_ids=[_by_name(by_kind["networkSecurityGroup"], n)
                                        for n in nsgs] or None,
            image_policy_config=image_policy)).data
        fn = fns.create_function(m.CreateFunctionDetails(
            application_id=app.id, display_name="postgres-inserter",
            source_details=m.CreateContainerImageFunctionSourceDetails(image=image),
            memory_in_mbs=512, timeout_in_seconds=timeout, config=config or {})).data
        yield Deployed(cloud, fn.id, src)


def with_statement(tenancy: dict[str, Any], statement: str) -> dict[str, Any]:
    tenancy["policies"].append({"name": "Doctor-Fix", "statements": [statement]})
    return tenancy

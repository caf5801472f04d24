"""The plan stage alone: desired + built + observed -> calls, diff, refusals. No cloud."""

from __future__ import annotations

from pathlib import Path

import pytest

from fastfn.deploy.build import BuildError, BuiltImage, PrebuiltImage
from fastfn.deploy.errors import LimitError
from fastfn.deploy.plan import LiveResource
from fastfn.deploy.targets.oci.models import TargetSettings, check_limits, desired_service
from fastfn.deploy.targets.oci.plan import Observed, plan
from fastfn.deploy.targets.oci.target import build_command_for
from fastfn.manifest import parse

SETTINGS = TargetSettings(compartment_id="ocid1.compartment.oc1..c", subnet_ids=("s1",))
BUILT = BuiltImage("reg/svc:dev", "sha256:" + "a" * 64)


def service(**manifest: object):  # type: ignore[no-untyped-def]
    data = {"name": "svc", "config": {"A": "1"}, "secrets": {"DB": "env:DB_URL"},
            "stages": {"dev": {}}, **manifest}
    return desired_service(parse(data), Path("."), "dev", SETTINGS)


def live(svc, **changes: object) -> Observed:  # type: ignore[no-untyped-def]
    app = LiveResource("app1", svc.application.name, dict(svc.application.settings),
                       dict(svc.application.tags))
    fn_settings = {**svc.function.settings, "image": BUILT.image, "image_digest": BUILT.digest,
                   **changes}
    return Observed(app, LiveResource("fn1", svc.function.name, fn_settings,
                                      dict(svc.function.tags)))


def test_nothing_exists_creates_everything() -> None:
    svc = service()
    p = plan(svc, BUILT, Observed(None, None))
    assert [c.operation for c in p.calls] == ["create_application", "push_image",
                                              "create_function"]
    assert len(p.api_calls) == 2
    create = p.calls[2].params
    assert create["config"] == {"A": "1", "DB": "env:DB_URL"}
    assert create["image_digest"] == BUILT.digest


def test_in_sync_is_no_call() -> None:
    svc = service()
    assert plan(svc, BUILT, live(svc)).calls == []


def test_changed_settings_are_one_update_with_only_what_changed() -> None:
    svc = service()
    p = plan(svc, BUILT, live(svc, memory=512))
    assert [(c.operation, c.params) for c in p.calls] == [("update_function",
                                                           {"memory": 256})]
    assert [(c.key, c.live, c.desired) for c in p.changes] == [("memory", 512, 256)]


def test_image_only_refuses_on_drift_and_unprovisioned_stages() -> None:
    svc = service()
    other = BuiltImage("reg/svc:dev", "sha256:" + "b" * 64)
    assert not plan(svc, other, Observed(None, None), "image-only").ok
    drifted = plan(svc, other, live(svc, timeout=99), "image-only")
    assert drifted.calls == [] and "drifted" in drifted.refusals[0]
    forced = plan(svc, other, live(svc, timeout=99), "image-only", force=True)
    assert [c.params for c in forced.api_calls] == [{"image": other.image,
                                                      "image_digest": other.digest}]


def test_limits_are_checked_without_the_manifest() -> None:
    fn = parse({"name": "svc"}).resolve(None).model_copy(update={"memory": 100,
                                                                 "timeout": 301})
    with pytest.raises(LimitError, match=r"memory 100 MB.*timeout 301"):
        check_limits(fn)
    with pytest.raises(LimitError, match="detached timeout"):
        check_limits(parse({"name": "svc"}).resolve(None), detached_timeout=4000)


def test_real_oci_needs_the_pushed_image_with_its_digest() -> None:
    svc = service(shape="GENERIC_ARM")
    with pytest.raises(BuildError, match="--platform linux/arm64") as info:
        PrebuiltImage(None, build_command_for).build(svc)
    assert "--image" in str(info.value)
    built = PrebuiltImage("fra.ocir.io/ns/svc:1@sha256:" + "c" * 64).build(svc)
    assert built == BuiltImage("fra.ocir.io/ns/svc:1", "sha256:" + "c" * 64)

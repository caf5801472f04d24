"""What exists for one stage on OCI Functions, read with read-only calls only."""

from __future__ import annotations

from typing import Any

from fastfn.deploy.plan import LiveResource
from fastfn.deploy.targets.oci.models import DesiredService
from fastfn.deploy.targets.oci.plan import Observed

GONE = ("DELETED", "DELETING")


def observe(functions: Any, compartment_id: str, desired: DesiredService) -> Observed:
    """The stage's application and function, as target-neutral settings.

    `functions` is an oci FunctionsManagementClient; the keys are the desired settings'
    keys so the planner diffs them without knowing the SDK."""
    import oci

    apps = oci.pagination.list_call_get_all_results(
        functions.list_applications, compartment_id,
        display_name=desired.application.name).data
    apps = [a for a in apps if a.lifecycle_state not in GONE]
    if not apps:
        return Observed(None, None)
    app = functions.get_application(apps[0].id).data
    live_app = LiveResource(app.id, app.display_name, {
        "shape": app.shape,
        "subnet_ids": sorted(app.subnet_ids or []),
        "network_security_group_ids": sorted(app.network_security_group_ids or []),
        "syslog_url": app.syslog_url,
        "config": dict(app.config or {}),
    }, dict(app.freeform_tags or {}))
    fns = oci.pagination.list_call_get_all_results(
        functions.list_functions, app.id, display_name=desired.function.name).data
    fns = [f for f in fns if f.lifecycle_state not in GONE]
    if not fns:
        return Observed(live_app, None)
    fn = functions.get_function(fns[0].id).data
    source = fn.source_details
    concurrency = fn.provisioned_concurrency_config
    live_fn = LiveResource(fn.id, fn.display_name, {
        "memory": fn.memory_in_mbs,
        "timeout": fn.timeout_in_seconds,
        "config": dict(fn.config or {}),
        "detached_timeout": fn.detached_mode_timeout_in_seconds,
        "provisioned_concurrency": getattr(concurrency, "count", None) or 0,
        "image": getattr(source, "image", None),
        "image_digest": getattr(source, "image_digest", None),
    }, dict(fn.freeform_tags or {}))
    return Observed(live_app, live_fn)

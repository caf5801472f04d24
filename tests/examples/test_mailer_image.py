"""The usage-report mailer run from its real image on the local cloud, with the result
the source-folder run gives (tests/examples/test_mailer.py): a real upload to the local
Object Storage, the event, the mailer started FROM ITS IMAGE (buildah on the Debian base,
pushed to the cloud's registry, pulled with skopeo + umoci, run with crun as uid 1000 on
the host network), the mail accepted by the local SMTP server over STARTTLS + AUTH with
the server's CA read from the host file SMTP_CA_FILE names (bind-mounted read-only)."""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import oci
import pytest
from oci.functions.models import UpdateContainerImageFunctionSourceDetails, UpdateFunctionDetails

from fastfn.localcloud.oci import LocalCloud

from support.images import Phases, build_and_push
from support.mailer import (
    BUCKET,
    EXAMPLE,
    PASSWORD,
    USER,
    SMTPServer,
    assert_report_mail,
    deploy,
    gzip_report,
)
from support.waiting import wait_for

# A cold build of the mailer (the oci SDK in its venv) takes minutes on a loaded machine.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture(scope="module")
def mailer_image(image_cloud: LocalCloud, image_phases: Phases) -> str:
    return build_and_push(image_cloud, EXAMPLE, "usage-report-mailer", image_phases,
                          f"local.ocir.io/{image_cloud.namespace}/usagereports/mailer:1")


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    # Its CA outside /tmp (the instance's own tmpfs): the bind mount then lands on the
    # image's read-only root, the harder case.
    directory = Path(tempfile.mkdtemp(prefix="fastfn-smtp-", dir="/var/tmp"))
    try:
        with SMTPServer(directory) as server:
            yield server
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _instance_bundle(cloud: LocalCloud, fn_id: str) -> dict[str, object]:
    """The crun config.json of the function's running instance (only images have one)."""
    platform = cloud.services.functions.platform()  # type: ignore[union-attr]
    instance = next(i for i in platform.started_instances if i.spec.fn_id == fn_id)
    return json.loads((instance.socket_dir.parent / "config.json").read_text())  # type: ignore[no-any-return]


def test_upload_mails_the_report_from_the_mailer_image(
        image_cloud: LocalCloud, mailer_image: str, smtp: SMTPServer) -> None:
    cloud = image_cloud
    applied = deploy(cloud, smtp)  # setup.yaml, the function from the source folder
    management = cloud.client(oci.functions.FunctionsManagementClient)
    management.update_function(applied.function_id, UpdateFunctionDetails(
        source_details=UpdateContainerImageFunctionSourceDetails(image=mailer_image)))
    fn = management.get_function(applied.function_id).data
    assert fn.source_details.image == mailer_image
    assert fn.source_details.image_digest.startswith("sha256:")  # pinned from the registry

    report = gzip_report(rows=200)
    name = "reports/WeeklyCostsScheduledReport_20261120_0.csv.gz"
    storage = cloud.client(oci.object_storage.ObjectStorageClient)
    etag = storage.put_object(cloud.namespace, BUCKET, name, report).headers["etag"]

    # A cold pull and start of the image; STARTTLS with the mounted CA, then AUTH.
    assert_report_mail(smtp.wait_for(1, timeout=300)[0], name, etag, report, rows=200)

    # It was the image that ran: crun's bundle, uid 1000, read-only root, and the CA's
    # host directory bind-mounted read-only.
    bundle = _instance_bundle(cloud, applied.function_id)
    assert bundle["process"]["user"] == {"uid": 1000, "gid": 1000}  # type: ignore[index]
    assert bundle["root"]["readonly"] is True  # type: ignore[index]
    mounts = {m["destination"]: m for m in bundle["mounts"]}  # type: ignore[attr-defined]
    ca_dir = str(smtp.cert.parent)
    assert not ca_dir.startswith("/tmp/")
    assert ca_dir in mounts and "ro" in mounts[ca_dir]["options"]

    delivered = wait_for(lambda: [d for d in cloud.event_deliveries()
                                  if d["state"] != "PENDING"])
    assert [(d["state"], d["attempts"]) for d in delivered] == [("DELIVERED", 1)]
    logged = [line for line in (e["line"] for e in cloud.services.functions.logs.read(  # type: ignore[union-attr]
        fn.display_name))]
    outcomes = [json.loads(line) for line in logged if '"outcome"' in line]
    assert [(o["outcome"], o["object_name"], o["etag"]) for o in outcomes] == [
        ("success", name, etag)]
    text = "\n".join(logged)
    assert PASSWORD not in text and USER not in text

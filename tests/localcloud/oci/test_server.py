"""The server as a process (`fastfn cloud up`) and under concurrent writers."""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import oci

from fastfn.localcloud.oci import LocalCloud, config_text

SERVE = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from fastfn.localcloud.oci import serve
    serve(Path(sys.argv[1]), port=0, proxy_port=0,
          on_ready=lambda urls: print(json.dumps(urls), flush=True))
""")


def test_serve_in_the_foreground_and_stop_on_sigterm(tmp_path: Path) -> None:
    state = tmp_path / "state"
    process = subprocess.Popen([sys.executable, "-c", SERVE, str(state)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        urls = json.loads(process.stdout.readline())
        text = config_text(state)
        assert urls["endpoint"] in text and urls["proxy"] in text
        config_file = next(line.split("=", 1)[1] for line in text.splitlines()
                           if line.startswith("export OCI_CONFIG_FILE="))
        config = oci.config.from_file(config_file)
        client = oci.object_storage.ObjectStorageClient(config,
                                                        service_endpoint=urls["endpoint"])
        assert client.get_namespace().data == "fastfnlocal"
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert not (state / "run" / "endpoint.json").exists()


def test_concurrent_writers_leave_one_consistent_object(cloud: LocalCloud) -> None:
    storage = cloud.client(oci.object_storage.ObjectStorageClient)
    storage.create_bucket(cloud.namespace, oci.object_storage.models.CreateBucketDetails(
        name="race", compartment_id=cloud.compartment_id))
    bodies = [bytes([i]) * (256 * 1024 + i) for i in range(16)]

    def write(body: bytes) -> str:
        client = cloud.client(oci.object_storage.ObjectStorageClient)
        return client.put_object(cloud.namespace, "race", "same", body).headers["etag"]

    def read(_: int) -> None:
        client = cloud.client(oci.object_storage.ObjectStorageClient)
        try:
            got = client.get_object(cloud.namespace, "race", "same")
        except oci.exceptions.ServiceError as exc:
            assert exc.status == 404  # not written yet
            return
        content = got.data.content
        assert base64.b64encode(hashlib.md5(content).digest()).decode() == \
            got.headers["content-md5"]  # never a mix of two versions

    with ThreadPoolExecutor(8) as pool:
        writes = [pool.submit(write, body) for body in bodies]
        reads = [pool.submit(read, i) for i in range(32)]
        etags = [w.result() for w in writes]
        for r in reads:
            r.result()

    final = storage.get_object(cloud.namespace, "race", "same")
    assert final.data.content in bodies
    assert final.headers["etag"] in etags
    # Overwritten versions' bytes are gone; no temp files are left behind.
    blobs = list((cloud.state_dir / "objects").iterdir())
    assert len(blobs) == 1

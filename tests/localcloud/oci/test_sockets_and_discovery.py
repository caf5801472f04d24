"""Accepted connections get TCP_NODELAY (issue 14), read from the server side; and a
running cloud is found from its state dir alone."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

import oci
import pytest

from fastfn.localcloud.oci import LocalCloud, running

from support.waiting import wait_for


def _connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port))


@pytest.mark.parametrize("listener", ["api", "proxy"])
def test_accepted_connections_have_tcp_nodelay(cloud: LocalCloud, listener: str) -> None:
    url = cloud.endpoint if listener == "api" else cloud.proxy_url
    before = len(cloud.accepted_sockets()[listener])
    with _connect(url) as client:
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)  # only ours counts
        mine = client.getsockname()
        accepted = wait_for(lambda: [s for s in cloud.accepted_sockets()[listener]
                                     if s.getpeername() == mine], timeout=10)
        assert len(cloud.accepted_sockets()[listener]) > before
        assert accepted[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_running_finds_the_cloud_from_its_state_dir(cloud: LocalCloud,
                                                    state_dir: Path) -> None:
    found = running(state_dir)
    assert found is not None
    assert (found.endpoint, found.proxy_url) == (cloud.endpoint, cloud.proxy_url)
    assert (found.compartment_id, found.namespace, found.region) == (
        cloud.compartment_id, cloud.namespace, cloud.region)
    assert found.config_file == cloud.config_file and found.config_file.exists()
    assert found.ca_bundle.exists()
    config = oci.config.from_file(str(found.config_file))
    client = oci.object_storage.ObjectStorageClient(config, service_endpoint=found.endpoint)
    assert client.get_namespace().data == found.namespace
    images = found.image_store()
    try:
        assert images.resolve("fra.ocir.io/none/such:1") is None
    finally:
        images.store.close()


def test_running_is_none_without_a_cloud(tmp_path: Path) -> None:
    assert running(tmp_path / "nothing-here") is None
    with LocalCloud(tmp_path / "state") as cloud:
        assert running(cloud.state_dir) is not None
    assert running(tmp_path / "state") is None

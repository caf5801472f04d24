"""Fuzzing the local cloud's servers (issue 16): the OCI REST server through its HTTP port
and the CONNECT proxy get hostile raw requests, slow senders, signed calls with invalid
bodies and generated object names with path traversal. Every answer is below 500,
another client is answered within 1 s throughout, and no file appears outside the state
directory."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import oci
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oci._vendor import requests

from fastfn.localcloud.oci import LocalCloud

from support.fuzz import (
    CORPUS,
    CORPUS_NAMES,
    Watchdog,
    address_of,
    assert_hostile_request_refused,
    assert_slow_senders_harmless,
    exchange,
    files_under,
    status_of,
    watch_get,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@pytest.fixture(scope="module")
def fuzzed(sandbox: Path) -> Iterator[LocalCloud]:
    with LocalCloud(sandbox / "state") as cloud:
        storage = cloud.client(oci.object_storage.ObjectStorageClient)
        storage.create_bucket(cloud.namespace, oci.object_storage.models.CreateBucketDetails(
            name="fuzz", compartment_id=cloud.compartment_id))
        yield cloud


def outside_state(sandbox: Path) -> set[Path]:
    return files_under(sandbox) - files_under(sandbox / "state")


@pytest.fixture
def untouched_outside(sandbox: Path) -> Iterator[None]:
    """Nothing may be written next to the state dir (or in the cwd) by a request."""
    outside_before = outside_state(sandbox)
    cwd_before = set(os.listdir("."))
    yield
    outside_after = outside_state(sandbox)
    assert outside_after == outside_before, outside_after - outside_before
    assert set(os.listdir(".")) == cwd_before


def health_probe(cloud: LocalCloud) -> Watchdog:
    return watch_get(f"{cloud.endpoint}/_fastfn/health")


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_hostile_raw_request_is_not_a_5xx_nor_a_stall(fuzzed: LocalCloud, name: str,
                                                      untouched_outside: None) -> None:
    assert_hostile_request_refused(address_of(fuzzed.endpoint), CORPUS[name],
                                   health_probe(fuzzed), server="server")


def test_slow_senders_do_not_hold_up_other_clients(fuzzed: LocalCloud) -> None:
    assert_slow_senders_harmless(address_of(fuzzed.endpoint), health_probe(fuzzed), count=30)


def test_slow_senders_on_the_proxy_do_not_hold_up_other_clients(fuzzed: LocalCloud) -> None:
    proxy = address_of(fuzzed.proxy_env()["HTTPS_PROXY"])

    def good_connect_answered_at_once() -> None:
        started = time.monotonic()
        answer = exchange(proxy, b"CONNECT objectstorage.eu-frankfurt-1.oraclecloud.com:443"
                          b" HTTP/1.1\r\n\r\n", timeout=3)
        assert status_of(answer) == 200 and time.monotonic() - started < 1.0

    assert_slow_senders_harmless(
        proxy, health_probe(fuzzed), count=30, seconds=2.0,
        head=b"CONNECT objectstorage.eu-frankfurt-1.oraclecloud.com:443 HTTP/1.1\r\nX-Slow: ",
        meanwhile=good_connect_answered_at_once)


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_hostile_raw_request_to_the_proxy_is_not_a_5xx(fuzzed: LocalCloud, name: str) -> None:
    proxy = address_of(fuzzed.proxy_env()["HTTPS_PROXY"])
    data = CORPUS[name].replace(b"GET ", b"CONNECT ", 1).replace(b"POST ", b"CONNECT ", 1)
    answer = exchange(proxy, data)
    status = status_of(answer)
    assert status is None or 400 <= status < 500, (status, answer[:300])


def signed(cloud: LocalCloud, method: str, path: str, body: bytes,
           content_type: str = "application/json") -> requests.Response:
    signer = oci.signer.Signer.from_config(cloud.config)
    return requests.request(method, cloud.endpoint + path, data=body, auth=signer,
                            headers={"content-type": content_type}, timeout=30)


BAD_BODIES = [b"", b"{", b"\xff\xfe\x00", b"[]", b"null", b"123", b'"text"',
              b'{"name": 1}', b'{"name": null, "compartmentId": []}',
              b'{"name": "' + b"n" * 1_000_000 + b'"}', b'{"a": ' + b"[" * 50_000]


@pytest.mark.parametrize("path", [
    "/n/{ns}/b", "/20180608/secrets", "/20181201/rules", "/20260325/applications",
    "/20181201/functions", "/20160918/instanceConfigurations", "/20160918/instancePools",
    "/20170115/loadBalancers", "/n/{ns}/b/fuzz", "/20190301/secretbundles/actions/getByName",
])
def test_signed_invalid_bodies_are_4xx(fuzzed: LocalCloud, path: str,
                                       untouched_outside: None) -> None:
    path = path.format(ns=fuzzed.namespace)
    for body in BAD_BODIES:
        response = signed(fuzzed, "POST", path, body)
        assert 400 <= response.status_code < 500, (path, body[:40], response.text[:300])
        assert "Traceback" not in response.text


TRAVERSAL = st.sampled_from(["../", "..", "%2e%2e%2f", "%2E%2E/", "..%2f", "/", "//", "./",
                             "/etc/passwd", "..\\", "\x00", "%00", "~", ".", "%", "%%2e"])
NAMES = st.lists(st.one_of(TRAVERSAL, st.text(min_size=1, max_size=8)),
                 min_size=1, max_size=6).map("".join)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, safe=st.sampled_from(["", "/", "/%", "/%.\\"]))
def test_object_names_cannot_escape_the_state_dir(fuzzed: LocalCloud, sandbox: Path,
                                                  name: str, safe: str) -> None:
    outside_before = outside_state(sandbox)
    base = f"/n/{fuzzed.namespace}/b/fuzz/o/"
    for quoted in (quote(name, safe=safe),):
        put = signed(fuzzed, "PUT", base + quoted, b"payload", "application/octet-stream")
        assert put.status_code < 500, (name, quoted, put.text[:300])
        got = signed(fuzzed, "GET", base + quoted, b"", "application/octet-stream")
        assert got.status_code < 500, (name, quoted, got.text[:300])
        if put.status_code == 200:
            assert got.status_code == 200 and got.content == b"payload", (name, quoted)
        deleted = signed(fuzzed, "DELETE", base + quoted, b"", "application/octet-stream")
        assert deleted.status_code < 500, (name, quoted, deleted.text[:300])
    outside_after = outside_state(sandbox)
    assert outside_after == outside_before, outside_after - outside_before

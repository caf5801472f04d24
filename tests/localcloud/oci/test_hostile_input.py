"""Hostile input (issue 16): huge Authorization headers and deeply nested JSON bodies get
OCI-shaped 4xx answers, and do not stop the cloud answering everyone else."""

from __future__ import annotations

import json
import threading

import oci
import pytest
from oci._vendor import requests

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.core.auth import MAX_AUTHORIZATION_BYTES, parse_authorization
from fastfn.localcloud.oci.core.errors import OCIError
from fastfn.localcloud.oci.core.wire import MAX_JSON_DEPTH


def _assert_oci_error(response: requests.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == code
    assert "Traceback" not in response.text
    assert response.headers["opc-request-id"]
    return str(body["message"])


@pytest.mark.parametrize("header", [
    "Signature " + "a" * 32 * 1024,  # took ~11 s in the old regex parser
    "Signature " + "a" * (MAX_AUTHORIZATION_BYTES - 100),
    "Signature " + 'a="' * 2000,
    "Signature " + 'a="",' * 1500,
])
def test_oversized_or_garbled_authorization_is_401(cloud: LocalCloud, header: str) -> None:
    response = requests.get(f"{cloud.endpoint}/n/", headers={"authorization": header})
    message = _assert_oci_error(response, 401, "NotAuthenticated")
    if len(header) > MAX_AUTHORIZATION_BYTES:
        assert f"longer than {MAX_AUTHORIZATION_BYTES}" in message


def test_other_clients_are_answered_while_hostile_headers_arrive(cloud: LocalCloud) -> None:
    hostile = {"authorization": "Signature " + "a" * (MAX_AUTHORIZATION_BYTES - 100)}
    answers: list[int] = []
    stop = threading.Event()

    def attack() -> None:
        with requests.Session() as session:
            while not stop.is_set():
                answers.append(session.get(f"{cloud.endpoint}/n/", headers=hostile).status_code)

    attacker = threading.Thread(target=attack)
    attacker.start()
    try:
        client = cloud.client(oci.object_storage.ObjectStorageClient)
        for _ in range(20):
            assert client.get_namespace().data == cloud.namespace
    finally:
        stop.set()
        attacker.join()
    assert answers and set(answers) == {401}


def test_authorization_parser_reads_params_and_names_what_is_missing() -> None:
    params = parse_authorization('Signature version="1",keyId="t/u/f",algorithm="rsa-sha256",'
                                 'headers="date (request-target) host",signature="c2ln"')
    assert params == {"version": "1", "keyId": "t/u/f", "algorithm": "rsa-sha256",
                      "headers": "date (request-target) host", "signature": "c2ln"}
    with pytest.raises(OCIError, match="no signature"):
        parse_authorization('Signature keyId="a", headers="host"')
    with pytest.raises(OCIError, match="malformed"):
        parse_authorization('Signature keyId="a')


def _nested(depth: int) -> bytes:
    return ('{"a":' * depth + "1" + "}" * depth).encode()


def _signed_post(cloud: LocalCloud, path: str, body: bytes) -> requests.Response:
    signer = oci.signer.Signer.from_config(cloud.config)
    return requests.post(cloud.endpoint + path, data=body, auth=signer,
                         headers={"content-type": "application/json"})


@pytest.mark.parametrize("depth", [2000, 100_000, MAX_JSON_DEPTH + 1])
def test_deeply_nested_body_is_400_invalid_parameter(cloud: LocalCloud, depth: int) -> None:
    for path in (f"/n/{cloud.namespace}/b", "/20180608/secrets", "/20181201/rules",
                 "/20260325/applications"):
        response = _signed_post(cloud, path, _nested(depth))
        message = _assert_oci_error(response, 400, "InvalidParameter")
        assert "nests deeper" in message, (path, message)
    assert cloud.client(oci.object_storage.ObjectStorageClient).get_namespace().data


def test_deeply_nested_rule_condition_is_400(cloud: LocalCloud) -> None:
    body = {"compartmentId": cloud.compartment_id, "displayName": "deep", "isEnabled": True,
            "condition": _nested(5000).decode(),
            "actions": {"actions": [{"actionType": "FAAS", "isEnabled": True,
                                     "functionId": "ocid1.fnfunc.oc1..aaaa"}]}}
    response = _signed_post(cloud, "/20181201/rules", json.dumps(body).encode())
    message = _assert_oci_error(response, 400, "InvalidParameter")
    assert "condition" in message

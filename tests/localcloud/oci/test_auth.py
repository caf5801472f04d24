"""Request signing as OCI checks it: the real SDK signer, wrong keys refused with 401."""

from __future__ import annotations

import email.utils
import json
import time
from pathlib import Path

import httpx
import oci
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from oci._vendor import requests

from fastfn.localcloud.oci import LocalCloud


def other_key_file(tmp_path: Path) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "other.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.TraditionalOpenSSL,
                                       serialization.NoEncryption()))
    return str(path)


def refused(config: dict, cloud: LocalCloud) -> oci.exceptions.ServiceError:
    client = oci.object_storage.ObjectStorageClient(
        config, service_endpoint=cloud.endpoint, retry_strategy=oci.retry.NoneRetryStrategy())
    with pytest.raises(oci.exceptions.ServiceError) as info:
        client.get_namespace()
    return info.value


def test_the_generated_config_file_works(cloud: LocalCloud) -> None:
    config = oci.config.from_file(str(cloud.config_file), "DEFAULT")
    oci.config.validate_config(config)
    client = oci.object_storage.ObjectStorageClient(config, service_endpoint=cloud.endpoint)
    assert client.get_namespace().data == cloud.namespace


def test_wrong_key_is_not_authenticated(cloud: LocalCloud, tmp_path: Path) -> None:
    err = refused({**cloud.config, "key_file": other_key_file(tmp_path)}, cloud)
    assert (err.status, err.code) == (401, "NotAuthenticated")
    assert err.request_id


def test_wrong_fingerprint_or_user_is_not_authenticated(cloud: LocalCloud) -> None:
    fingerprint = cloud.config["fingerprint"]
    flipped = ("0" if fingerprint[0] != "0" else "1") + fingerprint[1:]
    assert refused({**cloud.config, "fingerprint": flipped}, cloud).status == 401
    other_user = "ocid1.user.oc1..aaaaaaaanotauserofthistenancy"
    assert refused({**cloud.config, "user": other_user}, cloud).status == 401


def test_unsigned_request_gets_an_oci_error(cloud: LocalCloud) -> None:
    response = httpx.get(f"{cloud.endpoint}/n/")
    assert response.status_code == 401
    assert response.json()["code"] == "NotAuthenticated"
    assert response.headers["opc-request-id"]


def signed(cloud: LocalCloud, method: str, path: str, body: bytes | None = None,
           **headers: str) -> requests.PreparedRequest:
    signer = oci.signer.Signer.from_config(cloud.config)
    request = requests.Request(method, cloud.endpoint + path, data=body,
                               headers=headers).prepare()
    return signer(request)


def test_body_must_match_the_signed_hash(cloud: LocalCloud) -> None:
    details = {"name": "signed", "compartmentId": cloud.compartment_id}
    request = signed(cloud, "POST", f"/n/{cloud.namespace}/b", json.dumps(details).encode(),
                     **{"content-type": "application/json"})
    tampered = json.dumps({**details, "name": "swapped"}).encode()
    response = requests.Session().send(request.copy())
    assert response.status_code == 200, response.text
    request.body = tampered[: len(json.dumps(details))]  # same length, other bytes
    response = requests.Session().send(request)
    assert response.status_code == 401
    assert response.json()["code"] == "NotAuthenticated"


def test_stale_date_is_refused(cloud: LocalCloud) -> None:
    stale = email.utils.formatdate(time.time() - 900, usegmt=True)
    request = signed(cloud, "GET", "/n/", date=stale)
    response = requests.Session().send(request)
    assert response.status_code == 401


def test_unknown_path_is_an_oci_404(cloud: LocalCloud) -> None:
    response = requests.Session().send(signed(cloud, "GET", "/20991231/nothing"))
    assert response.status_code == 404
    assert response.json()["code"] == "NotAuthorizedOrNotFound"

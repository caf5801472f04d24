"""Malformed requests get OCI-shaped 4xx errors, never a 500 or a traceback."""

from __future__ import annotations

import oci
import pytest
from oci._vendor import requests

from fastfn.localcloud.oci import LocalCloud

ANY_OCID = "ocid1.thing.oc1..aaaaaaaaxyz"


def cases(cloud: LocalCloud) -> list[tuple[str, str, bytes | None]]:
    ns, c = cloud.namespace, cloud.compartment_id
    garbage = [b"not json", b"[]", b"{\"name\": 5}", b"{}", b"\xff\xfe"]
    posts = [f"/n/{ns}/b", "/20180608/secrets", "/20260325/applications",
             "/20260325/functions", "/20181201/functions", "/20181201/rules",
             "/20190301/secretbundles/actions/getByName"]
    found: list[tuple[str, str, bytes | None]] = [
        ("POST", path, body) for path in posts for body in garbage]
    found += [
        ("GET", f"/n/{ns}/b?compartmentId={c}&limit=abc", None),
        ("GET", f"/n/{ns}/b?compartmentId={c}&page=%%%", None),
        ("GET", f"/n/{ns}/b", None),
        ("GET", f"/n/{ns}/b/nope/o?limit=-1", None),
        ("GET", f"/20190301/secretbundles/{ANY_OCID}?versionNumber=x", None),
        ("GET", f"/20190301/secretbundles/{ANY_OCID}?stage=BOGUS", None),
        ("GET", f"/20180608/secrets/{ANY_OCID}/version/abc", None),
        ("GET", "/20260325/functions", None),
        ("GET", f"/20260325/applications?compartmentId={c}&sortBy=nope", None),
        ("GET", f"/20181201/rules?compartmentId={c}&sortBy=nope", None),
        ("PUT", f"/20260325/functions/{ANY_OCID}", b"{}"),
        ("POST", f"/20260325/functions/{ANY_OCID}/actions/invoke", b"{}"),
        ("GET", "/20160918/vcns", None),
        ("GET", f"/20160918/networkSecurityGroups/{ANY_OCID}/securityRules", None),
        ("DELETE", f"/20181201/rules/{ANY_OCID}", None),
        ("PATCH", f"/n/{ns}/b", b"{}"),
    ]
    return found


def test_malformed_requests_get_oci_errors(cloud: LocalCloud) -> None:
    signer = oci.signer.Signer.from_config(cloud.config)
    session = requests.Session()
    for method, path, body in cases(cloud):
        response = session.request(method, cloud.endpoint + path, data=body, auth=signer,
                                   headers={"content-type": "application/json"})
        where = f"{method} {path} {body!r}"
        assert 400 <= response.status_code < 500, (where, response.status_code, response.text)
        error = response.json()
        assert set(error) == {"code", "message"}, where
        assert error["code"] and error["message"], where
        assert "Traceback" not in response.text, where
        assert response.headers["opc-request-id"], where


@pytest.mark.parametrize("header", ["Signature nonsense", "Bearer x", "Signature keyId=\"a\""])
def test_garbled_authorization_is_401(cloud: LocalCloud, header: str) -> None:
    response = requests.get(f"{cloud.endpoint}/n/", headers={"authorization": header})
    assert response.status_code == 401
    assert response.json()["code"] == "NotAuthenticated"

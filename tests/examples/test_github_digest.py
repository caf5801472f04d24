"""The seed-004 service in process: API-key auth, /info/version, and the GitHub routes
against a real HTTP server on loopback standing in for GitHub."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fastfn.runtime.secrets import Secret

from support.github_fake import FakeGitHub

SERVICE = Path(__file__).parents[2] / "examples" / "github-digest"
KEY = "digest-key-7f3a9c"


def _load():
    sys.path.insert(0, str(SERVICE))
    try:
        spec = importlib.util.spec_from_file_location("github_digest_main", SERVICE / "main.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SERVICE))


@pytest.fixture(scope="module")
def digest_main():
    return _load()


@pytest.fixture
def github():
    with FakeGitHub() as fake:
        yield fake


@pytest.fixture
def client(digest_main, github):
    from github_api import GitHubClient

    app = digest_main.create_app(github=GitHubClient(github.url), api_key=Secret(KEY))
    with TestClient(app) as test_client:
        yield test_client


def test_version_with_the_key(client) -> None:
    got = client.get("/info/version", headers={"x-api-key": KEY})
    assert got.status_code == 200 and got.json() == {"version": "v0.4.0"}


@pytest.mark.parametrize("headers", [{}, {"x-api-key": "wrong"}, {"x-api-key": KEY + "x"},
                                     {"x-other": KEY}])
def test_no_or_wrong_key_is_401(client, headers) -> None:
    got = client.get("/info/version", headers=headers)
    assert got.status_code == 401
    assert KEY not in got.text


def test_unknown_path_is_404_with_the_key(client) -> None:
    assert client.get("/invalid-path", headers={"x-api-key": KEY}).status_code == 404


def test_rate_limit_from_github(client, github) -> None:
    got = client.get("/github-api/rate-limit", headers={"x-api-key": KEY})
    assert got.status_code == 200
    assert got.json() == {"limit": 5000, "remaining": 4999, "reset": 1700000000}
    path, headers = github.requests[-1]
    assert path == "/rate_limit" and headers["User-Agent"] == "github-digest"
    assert KEY not in str(headers)  # our key is ours, never sent on


def test_digest_of_a_repository(client) -> None:
    got = client.get("/github-api/repos/octo/hello/digest", headers={"x-api-key": KEY})
    assert got.status_code == 200
    assert got.json()["recent_commits"] == [{"sha": "abcdef0", "message": "Fix it"},
                                           {"sha": "1234567", "message": "Start"}]
    assert got.json()["stars"] == 42
    missing = client.get("/github-api/repos/octo/nope/digest", headers={"x-api-key": KEY})
    assert missing.status_code == 404
    bad = client.get("/github-api/repos/octo/b%20d/digest", headers={"x-api-key": KEY})
    assert bad.status_code == 422 and "repo" in bad.json()["detail"]


def test_github_down_is_a_502(digest_main) -> None:
    from github_api import GitHubClient

    app = digest_main.create_app(github=GitHubClient("http://127.0.0.1:9"),
                                 api_key=Secret(KEY))
    with TestClient(app) as test_client:
        got = test_client.get("/github-api/rate-limit", headers={"x-api-key": KEY})
    assert got.status_code == 502 and "unreachable" in got.json()["detail"]


def test_the_key_is_never_logged(client, caplog) -> None:
    with caplog.at_level(logging.DEBUG):
        client.get("/info/version", headers={"x-api-key": KEY})
        client.get("/info/version", headers={"x-api-key": "wrong"})
        logging.getLogger("github_digest").warning("header was %s", KEY)
    assert caplog.records
    assert KEY not in caplog.text

"""The embedded AWS: moto for the control plane, the local Lambda for invokes and
function URLs (real awslambdaric processes running the zip moto was given)."""

from __future__ import annotations

import functools
import io
import json
import zipfile
from pathlib import Path

import botocore.exceptions
import httpx
import pytest

from fastfn.localcloud.aws import embedded
from fastfn.localcloud.aws.embedded import EmbeddedAWS

from .conftest import APP_ENV, APPS, HANDLER

ROLE = "arn:aws:iam::123456789012:role/probe"
# Generous: a first request waits for the function's cold start, slow on a loaded machine.
_get = functools.partial(httpx.get, timeout=60)
_options = functools.partial(httpx.options, timeout=60)


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


APP_ZIP = _zip({"lambda_app.py": (APPS / "lambda_app.py").read_text()})


def _tagged_app(tag: str) -> bytes:
    return _zip({"tagged.py": (
        "from fastapi import FastAPI\n"
        "app = FastAPI()\n"
        "@app.get('/tag')\n"
        f"def tag():\n    return {{'tag': {tag!r}}}\n")})


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    with EmbeddedAWS(tmp_path_factory.mktemp("cloud")) as local:
        yield local


@pytest.fixture(scope="module")
def lam(aws):
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
        "Action": "sts:AssumeRole"}]}
    aws.client("iam").create_role(RoleName="probe", AssumeRolePolicyDocument=json.dumps(trust))
    return aws.client("lambda")


def _create(lam, name: str, code: bytes, env: dict | None = None, **extra) -> dict:
    return lam.create_function(FunctionName=name, Runtime="python3.12", Role=ROLE,
                               Handler=HANDLER, Code={"ZipFile": code}, Timeout=10,
                               MemorySize=256,
                               Environment={"Variables": env or APP_ENV}, **extra)


def test_running_finds_the_announced_endpoint(aws) -> None:
    found = embedded.running(aws.state_dir)
    assert found is not None and found.endpoint == aws.endpoint_url
    assert found.client("s3").list_buckets()["Buckets"] is not None


def test_invoke_runs_the_zip_under_awslambdaric(lam) -> None:
    _create(lam, "echo", APP_ZIP)
    got = lam.invoke(FunctionName="echo", Payload=json.dumps({"hello": "é"}).encode())
    assert got["StatusCode"] == 200
    assert "FunctionError" not in got  # moto's stub would answer FunctionError "Handled"
    assert got["ExecutedVersion"] == "$LATEST"
    assert json.loads(got["Payload"].read()) == {"direct": {"hello": "é"}, "startups": 1}
    event = {"version": "2.0", "rawPath": "/echo", "rawQueryString": "",
             "headers": {"host": "x"}, "isBase64Encoded": False,
             "requestContext": {"http": {"method": "GET", "path": "/echo"},
                                "requestId": "r1", "timeEpoch": 0}}
    echoed = json.loads(json.loads(lam.invoke(FunctionName="echo",
                                              Payload=json.dumps(event))["Payload"].read())
                        ["body"])
    assert echoed["context"]["function_name"] == "echo"
    assert echoed["context"]["platform"] == "aws-lambda"


def test_code_from_s3_and_an_update_runs_the_new_code(aws, lam) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="deploys")
    s3.put_object(Bucket="deploys", Key="dev/v1.zip", Body=_tagged_app("one"))
    lam.create_function(FunctionName="tagged", Runtime="python3.12", Role=ROLE,
                        Handler=HANDLER, Code={"S3Bucket": "deploys", "S3Key": "dev/v1.zip"},
                        Environment={"Variables": {"FASTFN_APP": "tagged:app",
                                                   "FASTFN_DEFAULT_ROUTE": "GET /tag"}})
    assert lam.invoke(FunctionName="tagged")["Payload"].read() == b'{"tag": "one"}'
    lam.update_function_code(FunctionName="tagged", ZipFile=_tagged_app("two"))
    assert lam.invoke(FunctionName="tagged")["Payload"].read() == b'{"tag": "two"}'


def test_versions_and_weighted_alias(aws, lam) -> None:
    env = {"FASTFN_APP": "tagged:app", "FASTFN_DEFAULT_ROUTE": "GET /tag"}
    _create(lam, "canary", _tagged_app("v1"), env)
    v1 = lam.publish_version(FunctionName="canary")["Version"]
    lam.update_function_code(FunctionName="canary", ZipFile=_tagged_app("v2"))
    v2 = lam.publish_version(FunctionName="canary")["Version"]
    lam.create_alias(FunctionName="canary", Name="LIVE", FunctionVersion=v1)
    one = lam.invoke(FunctionName="canary", Qualifier="LIVE")
    assert one["ExecutedVersion"] == v1 and one["Payload"].read() == b'{"tag": "v1"}'
    assert lam.invoke(FunctionName=f"canary:{v2}")["Payload"].read() == b'{"tag": "v2"}'

    lam.update_alias(FunctionName="canary", Name="LIVE",
                     RoutingConfig={"AdditionalVersionWeights": {v2: 0.5}})
    seen = {lam.invoke(FunctionName="canary", Qualifier="LIVE")["ExecutedVersion"]
            for _ in range(30)}
    assert seen == {v1, v2}  # 0.5 ** 30: never one-sided by chance
    lam.update_alias(FunctionName="canary", Name="LIVE", FunctionVersion=v2,
                     RoutingConfig={"AdditionalVersionWeights": {}})
    assert {lam.invoke(FunctionName="canary", Qualifier="LIVE")["ExecutedVersion"]
            for _ in range(5)} == {v2}


def test_unknown_function_is_a_404(lam) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        lam.invoke(FunctionName="nope")
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_function_url_on_an_alias_with_cors(aws, lam) -> None:
    _create(lam, "web", APP_ZIP)
    version = lam.publish_version(FunctionName="web")["Version"]
    lam.create_alias(FunctionName="web", Name="LIVE", FunctionVersion=version)
    config = lam.create_function_url_config(
        FunctionName="web", Qualifier="LIVE", AuthType="NONE",
        Cors={"AllowOrigins": ["https://app.example"], "AllowMethods": ["GET", "POST"],
              "AllowHeaders": ["x-api-key"], "MaxAge": 60})
    url = config["FunctionUrl"]
    assert url.startswith(aws.endpoint_url + "/lambda-url/")
    assert config["FunctionArn"].endswith(":web:LIVE")
    assert lam.get_function_url_config(FunctionName="web", Qualifier="LIVE")["FunctionUrl"] \
        == url

    got = _get(url + "echo/a?x=1&x=2", headers={"Origin": "https://app.example",
                                                     "Cookie": "a=1; b=2"})
    assert got.status_code == 200
    echoed = got.json()
    assert echoed["path"] == "/echo/a" and echoed["query"] == "x=1&x=2"
    assert echoed["cookies"] == {"a": "1", "b": "2"}
    assert got.headers["access-control-allow-origin"] == "https://app.example"

    cookies = _get(url + "cookies")
    assert len(cookies.headers.get_list("set-cookie")) == 2
    assert _get(url + "binary").content == bytes(range(256))
    assert _get(url + "nothing-here").status_code == 404

    preflight = _options(url + "echo", headers={
        "Origin": "https://app.example", "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-methods"] == "GET,POST"
    assert preflight.headers["access-control-max-age"] == "60"
    stranger = _get(url + "echo", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in stranger.headers


def test_iam_auth_url_refuses_unsigned_requests(lam) -> None:
    _create(lam, "private", APP_ZIP)
    url = lam.create_function_url_config(FunctionName="private",
                                         AuthType="AWS_IAM")["FunctionUrl"]
    assert _get(url + "echo").status_code == 403


def test_secret_from_ssm_resolved_inside_the_function(aws, lam, tmp_path: Path) -> None:
    aws.client("ssm").put_parameter(Name="/probe/key", Value="sw0rdfish-42",
                                    Type="SecureString")
    code = _zip({"secretive.py": (
        "from fastapi import FastAPI\n"
        "from fastfn.runtime.secrets import resolve_env\n"
        "app = FastAPI()\n"
        "@app.get('/len')\n"
        "def length():\n    return {'n': len(resolve_env('API_KEY').reveal())}\n")})
    _create(lam, "secretive", code, {"FASTFN_APP": "secretive:app",
                                     "FASTFN_DEFAULT_ROUTE": "GET /len",
                                     "API_KEY": "ssm:/probe/key"})
    assert json.loads(lam.invoke(FunctionName="secretive")["Payload"].read()) == {"n": 12}

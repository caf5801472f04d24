"""Embedded AWS: a real moto server process reached by boto3."""

from __future__ import annotations

import pytest

from fastfn.localcloud.aws.moto import LocalAWS


@pytest.fixture(scope="module")
def aws(tmp_path_factory):
    with LocalAWS(log_dir=str(tmp_path_factory.mktemp("moto"))) as local:
        yield local


def test_s3_ssm_and_lambda_control_plane(aws) -> None:
    s3 = aws.client("s3")
    s3.create_bucket(Bucket="deps")
    s3.put_object(Bucket="deps", Key="dev/abc.zip", Body=b"zip")
    assert s3.get_object(Bucket="deps", Key="dev/abc.zip")["Body"].read() == b"zip"

    ssm = aws.client("ssm")
    ssm.put_parameter(Name="/svc/dev/key", Value="s3cr3t", Type="SecureString")
    got = ssm.get_parameter(Name="/svc/dev/key", WithDecryption=True)
    assert got["Parameter"]["Value"] == "s3cr3t"

    assert aws.client("lambda").list_functions()["Functions"] == []
    policy = aws.client("iam").get_policy(
        PolicyArn="arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
    assert policy["Policy"]["PolicyName"] == "AWSLambdaBasicExecutionRole"


def test_env_names_the_endpoint(aws) -> None:
    env = aws.env()
    assert env["AWS_ENDPOINT_URL"] == aws.endpoint_url
    assert aws.endpoint_url.startswith("http://127.0.0.1:")


def test_state_does_not_survive_a_restart(tmp_path) -> None:
    assert LocalAWS.persistent is False
    with LocalAWS(log_dir=str(tmp_path)) as first:
        first.client("s3").create_bucket(Bucket="gone")
    with LocalAWS(log_dir=str(tmp_path)) as second:
        assert second.client("s3").list_buckets()["Buckets"] == []

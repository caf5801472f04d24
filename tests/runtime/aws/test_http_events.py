"""HTTP event sources through the runtime, in process, with awslambdaric's context."""

from __future__ import annotations

import base64
import json

import pytest

from fastfn.runtime.aws.runtime import InvokeFailed
from fastfn.runtime.failure import CallFailed

ARN = "arn:aws:lambda:us-east-1:123456789012:function:probe"


def body_json(result: dict) -> dict:
    assert result["isBase64Encoded"] is False
    return json.loads(result["body"])


def test_rest_v1_multi_value_keeps_repeats_and_stage(runtime, load_event, ric_context) -> None:
    result = runtime(load_event("apigw_v1"), ric_context())
    assert result["statusCode"] == 200
    got = body_json(result)
    assert got["cookies"] == {"a": "1", "b": "2"}
    assert ["x-repeat", "one"] in got["headers"] and ["x-repeat", "two"] in got["headers"]
    assert got["root_path"] == "/prod"
    assert got["path"] == "/prod/echo/hello"
    assert got["url"].startswith("https://abc123.execute-api.us-east-1.amazonaws.com/prod/echo")
    assert sorted(got["query"].split("&")) == ["q=a+b", "tag=x", "tag=y"]
    assert got["context"]["platform"] == "aws-lambda"
    assert got["context"]["function_id"] == ARN
    assert got["context"]["trigger"] == "http"
    assert got["context"]["event_source"] == "aws:apigateway"
    assert 0 < got["context"]["remaining"] <= 30
    assert result["multiValueHeaders"]["content-type"] == ["application/json"]


def test_rest_v1_single_value_base64_request(runtime, load_event, ric_context) -> None:
    result = runtime(load_event("apigw_v1_single"), ric_context())
    got = body_json(result)
    assert got["method"] == "POST"
    assert base64.b64decode(got["body_b64"]) == b'{"k": "v"}'
    assert got["root_path"] == ""
    assert got["query"] == "x=1"


def test_http_v2_cookies_and_raw_path(runtime, load_event, ric_context) -> None:
    result = runtime(load_event("http_v2"), ric_context())
    got = body_json(result)
    assert got["cookies"] == {"a": "1", "b": "2"}
    assert got["raw_path"] == "/echo/caf%C3%A9"
    assert got["path"] == "/echo/café"
    assert got["query"] == "tag=x&tag=y&q=a%20b"
    assert got["context"]["event_source"] == "aws:lambda-url"
    assert got["pool"].startswith("pool-")  # lifespan state reaches request.state


def test_two_set_cookies_every_source(runtime, load_event, ric_context) -> None:
    v2 = load_event("http_v2") | {"rawPath": "/cookies", "rawQueryString": ""}
    result = runtime(v2, ric_context())
    assert len(result["cookies"]) == 2
    assert "set-cookie" not in result["headers"]
    assert result["cookies"][0].startswith("a=1")
    assert "expires=wed, 21 oct 2037" in result["cookies"][1].lower()

    v1 = load_event("apigw_v1") | {"path": "/cookies"}
    v1["requestContext"] = v1["requestContext"] | {"path": "/prod/cookies"}
    result = runtime(v1, ric_context())
    assert len(result["multiValueHeaders"]["set-cookie"]) == 2

    alb = load_event("alb_multi") | {"path": "/cookies"}
    result = runtime(alb, ric_context())
    assert len(result["multiValueHeaders"]["set-cookie"]) == 2
    assert "headers" not in result
    assert result["statusDescription"] == "200 OK"


def test_alb_single_value_mode(runtime, load_event, ric_context) -> None:
    result = runtime(load_event("alb_single"), ric_context())
    assert result["statusDescription"] == "200 OK"
    assert "multiValueHeaders" not in result
    assert result["headers"]["set-cookie"].startswith("b=2")


def test_alb_query_not_decoded_again(runtime, load_event, ric_context) -> None:
    result = runtime(load_event("alb_multi"), ric_context())
    got = body_json(result)
    assert got["query"] == "q=a%20b&tag=x&tag=y"
    assert got["cookies"] == {"a": "1", "b": "2"}
    assert got["url"].startswith("http://lambda-alb-123578498")


@pytest.mark.parametrize("name", ["http_v2", "apigw_v1", "alb_multi"])
def test_binary_round_trip(runtime, load_event, ric_context, name: str) -> None:
    payload = bytes(range(256)) * 4
    event = load_event(name)
    if name == "http_v2":
        event |= {"rawPath": "/binary", "rawQueryString": ""}
        event["requestContext"]["http"]["method"] = "POST"
    else:
        event |= {"path": "/binary", "httpMethod": "POST", "multiValueQueryStringParameters": None,
                  "queryStringParameters": None}
        if name == "apigw_v1":
            event["requestContext"]["path"] = "/prod/binary"
    event |= {"body": base64.b64encode(payload).decode(), "isBase64Encoded": True}
    result = runtime(event, ric_context())
    assert result["statusCode"] == 200
    assert result["isBase64Encoded"] is True
    assert base64.b64decode(result["body"]) == payload


def test_text_is_not_base64(runtime, load_event, ric_context) -> None:
    event = load_event("http_v2") | {"rawPath": "/text", "rawQueryString": ""}
    result = runtime(event, ric_context())
    assert result["isBase64Encoded"] is False
    assert result["body"] == "héllo wörld"


def test_call_failed_is_an_error_result(runtime, load_event, ric_context) -> None:
    event = load_event("http_v2") | {"rawPath": "/fail", "rawQueryString": ""}
    with pytest.raises(CallFailed, match="refused on purpose"):
        runtime(event, ric_context())


def test_deadline_from_lambda_context(runtime, load_event, ric_context) -> None:
    event = load_event("http_v2") | {"rawPath": "/sleep", "rawQueryString": "s=5"}
    with pytest.raises(InvokeFailed, match="timeout"):
        runtime(event, ric_context(timeout_s=0.3))


def test_bad_event_names_the_field(runtime, load_event, ric_context) -> None:
    from fastfn.runtime.aws.events.common import EventError

    event = load_event("http_v2") | {"body": "%%%", "isBase64Encoded": True}
    with pytest.raises(EventError, match="'body'"):
        runtime(event, ric_context())
    event = load_event("apigw_v1") | {"path": "no-slash"}
    with pytest.raises(EventError, match="'path'"):
        runtime(event, ric_context())

"""What the embedded AWS adds to a warm invoke: `lambda.invoke` through the front (boto3 ->
front -> the local Lambda) and a function URL request, against the local Lambda invoked
directly (the anchor), same app, same event, measured side by side.

Run by hand (not a test):

    .venv/bin/python bench/lambda_embedded.py [--invokes 300] [--rounds 5]

Rounds interleave the three paths; per-invoke medians over rounds are reported, and each
path's ratio to the direct invoke.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import urllib.request
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP = '''
from fastapi import FastAPI
app = FastAPI()
@app.get("/ping")
def ping():
    return {"ok": True}
'''
HANDLER = "fastfn.runtime.aws.handler.handler"
ENV = {"FASTFN_APP": "benchapp:app", "FASTFN_DEFAULT_ROUTE": "GET /ping"}


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("benchapp.py", APP)
    return buffer.getvalue()


def _time(fn: Callable[[], object], n: int) -> float:
    began = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - began) / n * 1e6


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invokes", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "src"))
    from fastfn.localcloud.aws.embedded import EmbeddedAWS
    from fastfn.localcloud.aws.lambda_ import LocalFunction

    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp) / "code"
        code.mkdir()
        (code / "benchapp.py").write_text(APP)
        with EmbeddedAWS(Path(tmp) / "cloud", announce=False) as aws, \
                LocalFunction("direct", HANDLER, str(code), environment=ENV,
                              timeout_s=30, log_dir=tmp) as direct:
            iam, lam = aws.client("iam"), aws.client("lambda")
            role = iam.create_role(RoleName="bench", AssumeRolePolicyDocument=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
            lam.create_function(FunctionName="bench", Runtime="python3.12", Role=role,
                                Handler=HANDLER, Code={"ZipFile": _zip()}, Timeout=30,
                                Environment={"Variables": ENV})
            version = lam.publish_version(FunctionName="bench")["Version"]
            lam.create_alias(FunctionName="bench", Name="LIVE", FunctionVersion=version)
            url = lam.create_function_url_config(FunctionName="bench", Qualifier="LIVE",
                                                 AuthType="NONE")["FunctionUrl"] + "ping"
            opener = urllib.request.build_opener()
            paths: dict[str, Callable[[], object]] = {
                "direct": lambda: direct.invoke(b"{}"),
                "lambda.invoke": lambda: lam.invoke(FunctionName="bench", Qualifier="LIVE",
                                                    Payload=b"{}")["Payload"].read(),
                "function URL": lambda: opener.open(url, timeout=30).read(),
            }
            for fn in paths.values():  # warm: one environment each, connections open
                for _ in range(20):
                    fn()
            samples: dict[str, list[float]] = {name: [] for name in paths}
            names = list(paths)
            for round_ in range(args.rounds):
                for name in names[round_ % len(names):] + names[:round_ % len(names)]:
                    samples[name].append(_time(paths[name], args.invokes))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    anchor = medians["direct"]
    print(f"warm invoke, median of {args.rounds} rounds x {args.invokes} (us)")
    print(f"{'path':<15} {'us':>9} {'ratio':>7}")
    for name, value in medians.items():
        print(f"{name:<15} {value:>9.0f} {value / anchor:>7.2f}")
    print(json.dumps({"per_invoke_us": medians, "ratio_to_direct": {
        name: value / anchor for name, value in medians.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The README's AWS Lambda demo (seed 004), on the embedded AWS (moto + the local Lambda).

`run()` (called by scripts/demo.py; also `python scripts/demo_lambda.py`):
1. `fastfn cloud up --aws`, and the stages' API keys as SSM SecureString parameters;
2. examples/github-digest deployed dev -> qa -> prod, each stage smoke-tested through its
   function URL with seed 004's validate_deployment table (/info/version 200, an unknown
   path 404; plus a missing key 401);
3. a code change deployed to dev (a code-only update), then `fastfn rollback` (LIVE back
   in one call);
4. a canary: `fastfn deploy --canary 10` (the alias's weights read back), traffic split
   between the versions, `fastfn promote`.

The service is deployed from a copy, so the demo leaves examples/ as it was.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

from demo_steps import FASTFN, ROOT, cloud_up, printable, step

DIGEST = ROOT / "examples" / "github-digest"
STAGES = ("dev", "qa", "prod")
# Seed 004's validate_deployment table; its /github-api/rate-limit row needs GitHub itself
# (the tests run that route against a GitHub stand-in on loopback).
VALIDATE = (("/info/version", 200), ("/invalid-path", 404))


def show(argv: list[str], shown: list[str] | None = None) -> str:
    command = shown or printable(argv)
    print(f"$ {shlex.join(command)}", flush=True)
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        print(result.stdout.rstrip())
        print(result.stderr.rstrip(), file=sys.stderr)
        raise SystemExit(f"demo step failed: {shlex.join(command)}")
    return result.stdout


def get(url: str, key: str | None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"x-api-key": key} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def deploy(service: Path, stage: str, where: list[str], *extra: str) -> dict:
    out = json.loads(show([*FASTFN, "deploy", str(service), "--stage", stage, *where,
                           *extra, "--json"],
                          ["fastfn", "deploy", "github-digest", "--stage", stage, *extra]))
    calls = [c["operation"] for c in out["plan"]["calls"] if not c["operation"].startswith(
        "wait_")]
    print(f"  {out['mutating_calls']} mutating call(s): {', '.join(calls) or 'none'}")
    return out


def validate(url: str, key: str) -> None:
    for path, expected in VALIDATE:
        status, body = get(url.rstrip("/") + path, key)
        mark = "ok" if status == expected else "UNEXPECTED"
        print(f"  GET {path:<16} {status} (expected {expected}) {mark}  {body[:60]}")
        if status != expected:
            raise SystemExit(f"validate_deployment: {path} answered {status}")
    status, _ = get(url.rstrip("/") + "/info/version", None)
    print(f"  GET /info/version without the key: {status} (expected 401)")
    if status != 401:
        raise SystemExit("the API key is not enforced")


def run() -> None:
    state = Path(tempfile.mkdtemp(prefix="fastfn-demo-aws-"))
    service = state / "github-digest"
    shutil.copytree(DIGEST, service, ignore=shutil.ignore_patterns(".fastfn", "__pycache__"))
    step("Seed 004: the embedded AWS (moto + the local Lambda, no Docker)")
    print("$ fastfn cloud up --aws")
    try:
        with cloud_up(state / "cloud", "--aws", ready="aws/endpoint.json"):
            from fastfn.localcloud.aws.embedded import running

            aws = running(state / "cloud")
            assert aws is not None
            print(f"  endpoint {aws.endpoint} (`eval \"$(fastfn cloud config --aws)\"` points "
                  "boto3 and the aws CLI at it)")
            keys = {stage: secrets.token_urlsafe(18) for stage in STAGES}
            ssm = aws.client("ssm")
            for stage in STAGES:
                ssm.put_parameter(Name=f"/github-digest/{stage}/api-key", Value=keys[stage],
                                  Type="SecureString", Overwrite=True)
            print("  the API keys: SSM SecureString /github-digest/{dev,qa,prod}/api-key "
                  "(the functions resolve them at start-up; no value is in their configuration)")
            where = ["--cloud-state", str(state / "cloud")]
            urls = {}
            for stage in STAGES:
                step(f"Deploy stage {stage}, then seed 004's validate_deployment")
                urls[stage] = deploy(service, stage, where)["ids"]["url"]
                print(f"  function URL (on the LIVE alias): {urls[stage]}")
                validate(urls[stage], keys[stage])
            step("A redeploy that changes nothing")
            deploy(service, "dev", where)

            main = service / "main.py"
            main.write_text(main.read_text().replace('VERSION = "v0.4.0"', 'VERSION = "v0.4.1"'))
            step("A code change to dev: a code-only update, a new version, LIVE moved")
            deploy(service, "dev", where)
            print(f"  /info/version -> {get(urls['dev'] + 'info/version', keys['dev'])[1]}")
            step("fastfn rollback: LIVE back to the previous version in one call")
            out = json.loads(show([*FASTFN, "rollback", str(service), "--stage", "dev", *where,
                                   "--json"], ["fastfn", "rollback", "github-digest", "--stage",
                                               "dev"]))
            print(f"  {out['mutating_calls']} mutating call(s); LIVE -> version "
                  f"{out['refs'].get('version')}")
            print(f"  /info/version -> {get(urls['dev'] + 'info/version', keys['dev'])[1]}")

            main.write_text(main.read_text().replace('VERSION = "v0.4.1"', 'VERSION = "v0.5.0"'))
            step("A canary: 10% of dev's traffic to the new version")
            deploy(service, "dev", where, "--canary", "10", "--set", "canary_watch=2")
            alias = aws.client("lambda").get_alias(FunctionName="github-digest-dev", Name="LIVE")
            print(f"  get_alias: LIVE -> version {alias['FunctionVersion']}, routing "
                  f"{alias.get('RoutingConfig', {}).get('AdditionalVersionWeights')}")
            seen = Counter(json.loads(get(urls["dev"] + "info/version", keys["dev"])[1])["version"]
                           for _ in range(50))
            print(f"  50 requests: {dict(seen)}")
            step("fastfn promote: the canary takes all the traffic")
            print(show([*FASTFN, "promote", str(service), "--stage", "dev", *where],
                       ["fastfn", "promote", "github-digest", "--stage", "dev"]).rstrip())
            print(f"  /info/version -> {get(urls['dev'] + 'info/version', keys['dev'])[1]}")
    finally:
        shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    os.chdir(ROOT)
    run()

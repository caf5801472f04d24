"""The embedded AWS (`fastfn cloud up --aws`) as the aws target: the same boto3 calls,
pointed at it. The embedded AWS runs functions under this interpreter, so dependencies
are taken from its installed packages (offline) and the runtime is its Python version."""

from __future__ import annotations

import sys
from pathlib import Path

from fastfn.deploy.errors import TargetError
from fastfn.deploy.targets.aws.target import AwsLambdaTarget, target_settings


def embedded_target(cloud_state: Path,
                    settings: dict[str, str] | None = None) -> AwsLambdaTarget:
    import boto3

    from fastfn.localcloud.aws.embedded import ACCESS_KEY, SECRET_KEY, running

    found = running(Path(cloud_state))
    if found is None:
        raise TargetError(f"no embedded AWS serves {cloud_state}: start it with "
                          f"`fastfn cloud up --aws --state-dir {cloud_state}` (or deploy "
                          "to real AWS with --profile/--region)")
    session = boto3.Session(aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                            region_name=found.region)
    options = {"poll_interval_s": 0.2, **target_settings(settings or {})}
    return AwsLambdaTarget(session, endpoint=found.endpoint, resolver="installed",
                           runtime_python=f"{sys.version_info.major}."
                                          f"{sys.version_info.minor}",
                           where="embedded", **options)

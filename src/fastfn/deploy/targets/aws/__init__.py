"""AWS Lambda as a deploy target: `models.py` (a function with a LIVE alias, its layer,
role, log group, URL and alarms), `build.py` (code and dependency zips), `plan.py` (the
planner), `observe.py` (read-only calls), `apply.py` (one boto3 call per operation and the
waits, canary abort included), `target.py` (the Target), `local.py` (the embedded AWS as
this target), `ci.py` (the GitHub workflow)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fastfn.deploy.targets.aws.target import AwsLambdaTarget
    from fastfn.deploy.targets.base import TargetOptions


def from_options(options: TargetOptions) -> AwsLambdaTarget:
    """Real AWS when --profile or --region is given (boto3's credential chain), else the
    embedded AWS serving `options.cloud_state`."""
    if options.profile or options.region:
        from fastfn.deploy.targets.aws.target import aws_target

        return aws_target(options.profile, options.region, options.settings)
    from fastfn.deploy.targets.aws.local import embedded_target

    return embedded_target(options.cloud_state, options.settings)


__all__ = ["from_options"]

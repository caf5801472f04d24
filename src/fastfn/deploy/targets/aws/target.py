"""AWS Lambda as a deploy target, through boto3.

Real AWS takes the normal credential chain (a profile, environment variables, GitHub's
OIDC role, an instance role) and a region; the embedded AWS (`fastfn cloud up --aws`) is
this same target with boto3 pointed at it (`local.py`). Packages are built locally
(build.py), uploaded to S3 only when their sha256 is not there yet, and named by it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from fastfn.deploy.errors import BuildError, TargetError
from fastfn.deploy.plan import Mode, Plan, PlanOptions, SettingChange
from fastfn.deploy.steps import Artifact, Call, Step, WaitFor
from fastfn.deploy.targets.aws import plan as planner
from fastfn.deploy.targets.aws.apply import apply_call, apply_wait
from fastfn.deploy.targets.aws.build import BuildOptions, LambdaPackages, PackageBuilder
from fastfn.deploy.targets.aws.models import Account, AwsDesired, desired_from
from fastfn.deploy.targets.aws.observe import AwsObserved, observe
from fastfn.manifest import Manifest

BUILD_CACHE = Path(".fastfn") / "build" / "aws"


class AwsLambdaTarget:
    kind = "aws"

    def __init__(self, session: Any, *, endpoint: str | None = None,
                 resolver: str = "pip", runtime_python: str | None = None,
                 bucket: str | None = None, canary_watch_s: float | None = None,
                 poll_interval_s: float = 2.0, where: str = "aws") -> None:
        self.session = session
        self.endpoint = endpoint
        self.resolver = resolver
        self.runtime_python = runtime_python  # None: the manifest's python
        self.bucket = bucket
        self.canary_watch_s = canary_watch_s
        self.poll_interval_s = poll_interval_s
        self.where = where
        self._clients: dict[str, Any] = {}
        self._account: Account | None = None
        self._built: dict[str, tuple[planner.Packages, LambdaPackages]] = {}
        self._blobs: dict[str, bytes] = {}

    def client(self, name: str) -> Any:
        if name not in self._clients:
            from botocore.config import Config

            config = Config(retries={"max_attempts": 5, "mode": "standard"},
                            connect_timeout=5, read_timeout=120)
            kwargs: dict[str, Any] = {"config": config}
            if self.endpoint:
                kwargs["endpoint_url"] = self.endpoint
            self._clients[name] = self.session.client(name, **kwargs)
        return self._clients[name]

    def account(self) -> Account:
        if self._account is None:
            try:
                who = self.client("sts").get_caller_identity()
            except Exception as exc:
                raise TargetError(f"cannot read the AWS account ({type(exc).__name__}): "
                                  f"check the credentials and region; {exc}") from None
            partition = str(who["Arn"]).split(":")[1]
            self._account = Account(str(who["Account"]), self.session.region_name,
                                    partition)
        return self._account

    def lease_store(self) -> Any:
        """Where the stage's deploy lease is held: its S3 bucket (`lease.py`)."""
        from fastfn.deploy.leases.s3 import S3Leases

        bucket = getattr(self, "_bucket_in_use", None)
        if bucket is None:
            raise TargetError("the lease needs the stage's desired state first")
        return S3Leases(self.client("s3"), bucket, self.session.region_name)

    def describe(self) -> dict[str, str]:
        where = {"kind": self.kind, "where": self.where,
                 "region": str(self.session.region_name)}
        if self.endpoint:
            where["endpoint"] = self.endpoint
        if self._account is not None:
            where["account"] = self._account.account_id
        return where

    # -- pure (but for the account read) --------------------------------------------------

    def desired(self, manifest: Manifest, service_dir: Path, stage: str | None) -> AwsDesired:
        desired = desired_from(manifest, service_dir, stage, self.account(),
                               runtime_python=self.runtime_python, bucket=self.bucket)
        if self.canary_watch_s is not None:
            desired = replace(desired, canary_watch_s=self.canary_watch_s)
        self._bucket_in_use = desired.bucket
        section = manifest.section("aws", stage)
        deps = section.dependencies
        python = self.runtime_python or manifest.common(stage).python
        self._options = BuildOptions(python=python, architecture=section.architecture,
                                     index_url=deps.index_url,
                                     find_links=tuple(str((Path(service_dir) / link)
                                                          if not link.startswith(("http:",
                                                                                  "https:"))
                                                          else link)
                                                      for link in deps.find_links),
                                     no_index=deps.no_index, resolver=self.resolver)
        return desired

    def build(self, desired: AwsDesired) -> Artifact:
        options = getattr(self, "_options", None) or BuildOptions(resolver=self.resolver)
        builder = PackageBuilder(desired.source_dir / BUILD_CACHE)
        try:
            built = builder.build(desired.source_dir, options)
        except OSError as exc:
            raise BuildError(f"cannot build the Lambda packages: {exc}") from None
        packages = planner.Packages(built.code.sha256, built.deps.sha256)
        release = hashlib.sha256(f"{packages.code_sha}:{packages.deps_sha}:"
                                 f"{desired.settings_digest()}".encode()).hexdigest()
        artifact = Artifact(f"s3://{desired.bucket}/{packages.code_key(desired)}",
                            f"sha256:{release}", "zip")
        self._built[artifact.digest] = (packages, built)
        self._blobs[built.code.sha256] = built.code.data
        self._blobs[built.deps.sha256] = built.deps.data
        return artifact

    def plan(self, desired: AwsDesired, artifact: Artifact | None, observed: AwsObserved,
             mode: Mode = "full", options: PlanOptions | None = None) -> Plan:
        packages = None
        if mode in ("full", "image-only"):
            if artifact is None or artifact.digest not in self._built:
                raise BuildError(f"a {mode} plan needs the packages this target built")
            packages = self._built[artifact.digest][0]
        return planner.plan(desired, packages, artifact, observed, mode,
                            options or PlanOptions())

    def drift(self, desired: AwsDesired, observed: AwsObserved) -> list[SettingChange]:
        return planner.drift(desired, observed)

    # -- remote ---------------------------------------------------------------------------

    def observe(self, desired: AwsDesired) -> AwsObserved:
        return observe(self.client, desired)

    def _blob(self, sha: str) -> bytes:
        try:
            return self._blobs[sha]
        except KeyError:
            raise TargetError(f"package {sha[:12]} was not built in this run") from None

    def apply(self, step: Step, ids: dict[str, str]) -> str | None:
        if isinstance(step, Call):
            return apply_call(self.client, self._blob, step, ids)
        if isinstance(step, WaitFor):
            apply_wait(self.client, step, ids, self.poll_interval_s)
            return None
        raise TargetError(f"the aws target plans no {step.operation} step")


def aws_target(profile: str | None, region: str | None,
               settings: dict[str, str] | None = None) -> AwsLambdaTarget:
    """Real AWS through boto3's credential chain (a named profile, or the environment:
    AWS_* variables, GitHub OIDC via AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE...)."""
    import boto3
    import botocore.exceptions

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except botocore.exceptions.ProfileNotFound:
        raise TargetError(f"--profile: no AWS profile named {profile!r}") from None
    if not session.region_name:
        raise TargetError("a deploy to AWS needs a region: --region or AWS_REGION")
    return AwsLambdaTarget(session, **target_settings(settings or {}))


def target_settings(settings: dict[str, str]) -> dict[str, Any]:
    """`--set` keys this target knows: bucket, canary_watch (seconds), poll (seconds)."""
    known: dict[str, Callable[[str], Any]] = {"bucket": str, "canary_watch": float,
                                              "poll": float}
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if key not in known:
            raise TargetError(f"--set {key}: unknown aws setting (one of "
                              f"{', '.join(sorted(known))})")
        try:
            parsed = known[key](value)
        except ValueError:
            raise TargetError(f"--set {key}: {value!r} is not a number") from None
        if key in ("canary_watch", "poll") and parsed < 0:
            raise TargetError(f"--set {key}: must be >= 0")
        name = {"canary_watch": "canary_watch_s", "poll": "poll_interval_s"}.get(key, key)
        out[name] = parsed
    return out

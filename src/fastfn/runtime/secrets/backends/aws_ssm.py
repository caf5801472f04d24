"""`ssm:<parameter name>`: AWS Systems Manager Parameter Store, through boto3.

`get_parameter(Name=..., WithDecryption=True)`: a SecureString is decrypted, a String or
StringList is returned as stored. boto3 finds credentials, region and endpoint itself (the
standard chain: AWS_* variables, shared config, the Lambda/instance role; AWS_ENDPOINT_URL
or AWS_ENDPOINT_URL_SSM), unless the resolver is given an endpoint for `ssm`. boto3 is
imported on the first fetch; timeouts are short and retries few so that an unreachable
endpoint fails start-up in seconds.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Mapping
from typing import Any, Final

from fastfn.runtime.secrets.backends.base import Scheme
from fastfn.runtime.secrets.errors import SecretResolutionError
from fastfn.runtime.secrets.value import Secret

log = logging.getLogger("fastfn.secrets")

MAX_NAME_LENGTH: Final = 2048
_CONNECT_TIMEOUT_S: Final = 2.0
_READ_TIMEOUT_S: Final = 5.0
_MAX_ATTEMPTS: Final = 2  # one retry

_NAME = re.compile(r"/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*")


def _target_error(target: str) -> str | None:
    if len(target) <= MAX_NAME_LENGTH and _NAME.fullmatch(target):
        return None
    return ("an ssm reference is 'ssm:<parameter name>': segments of A-Z a-z 0-9 _ . - "
            f"separated by '/' (a leading '/' allowed), at most {MAX_NAME_LENGTH} characters")


class AwsSsmBackend:
    def __init__(self, environ: Mapping[str, str], endpoint: str | None = None) -> None:
        self._environ = environ
        self._endpoint = endpoint
        self._lock = threading.Lock()
        self._client: Any = None

    def fetch(self, target: str, reference: str, name: str | None) -> Secret:
        began = time.perf_counter()
        client = self._ssm_client(reference, name)
        import botocore.exceptions as errors  # loaded with boto3 by _ssm_client

        try:
            parameter = client.get_parameter(Name=target, WithDecryption=True)["Parameter"]
        except errors.ClientError as exc:
            error = exc.response.get("Error", {})
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            raise SecretResolutionError(reference, f"{error.get('Code', 'error')} "
                                        f"(HTTP {status})", name=name) from None
        except errors.NoCredentialsError:
            raise SecretResolutionError(reference, "no usable AWS credentials (set AWS_* "
                                        "variables, a profile or a role)", name=name) from None
        except Exception as exc:  # connection refused, timeout, TLS, proxy: no value in these
            raise SecretResolutionError(reference, f"cannot reach {client.meta.endpoint_url}: "
                                        f"{type(exc).__name__}", name=name) from None
        log.info("secret resolved from SSM",
                 extra={"reference": reference, "version": parameter.get("Version"),
                        "type": parameter.get("Type"),
                        "ms": round((time.perf_counter() - began) * 1000, 1)})
        return Secret(parameter["Value"])

    def _ssm_client(self, reference: str, name: str | None) -> Any:
        with self._lock:
            if self._client is not None:
                return self._client
            try:
                import boto3
                from botocore.config import Config
                from botocore.exceptions import NoRegionError
            except ImportError:
                raise SecretResolutionError(reference, "the boto3 SDK is not installed "
                                            "(pip install boto3)", name=name) from None
            config = Config(connect_timeout=_CONNECT_TIMEOUT_S, read_timeout=_READ_TIMEOUT_S,
                            retries={"total_max_attempts": _MAX_ATTEMPTS, "mode": "standard"})
            try:
                self._client = boto3.session.Session().client(
                    "ssm", config=config, endpoint_url=self._endpoint,
                    # botocore reads AWS_DEFAULT_REGION only; Lambda also sets AWS_REGION.
                    region_name=(self._environ.get("AWS_DEFAULT_REGION")
                                 or self._environ.get("AWS_REGION") or None))
            except NoRegionError:
                raise SecretResolutionError(reference, "no AWS region (set AWS_REGION or "
                                            "AWS_DEFAULT_REGION)", name=name) from None
            return self._client


SCHEME = Scheme("ssm", "ssm:<parameter name>", _target_error, AwsSsmBackend)

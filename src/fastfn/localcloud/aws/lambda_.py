"""A local Lambda function: its code run as a real process under the real `awslambdaric`
against our Runtime API, with the environment Lambda gives it.

One invoke at a time per environment (a lock), the environment kept warm between
invokes, killed at the deadline with Lambda's timeout error and started again (init runs
again) on the next invoke, as Lambda resets an environment after a timeout or a crash.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence

from fastfn.localcloud.aws import spawn
from fastfn.localcloud.aws.runtime_api import Invocation, RuntimeAPI
from fastfn.localcloud.process import Supervised

# Lambda's own limit on the init phase of an on-demand environment.
INIT_TIMEOUT_S = 10.0
# awslambdaric escapes non-ASCII JSON unless this names a python3.12+ runtime, and only
# then polls for the next invocation on a thread: set it as Lambda does.
EXECUTION_ENV = "AWS_Lambda_python3.12"
_POLL_S = 0.05


class InvokeResult:
    """What `lambda.invoke` answers: status 200, the payload, and `FunctionError`
    ("Unhandled") when the function failed."""

    __slots__ = ("function_error", "payload", "request_id", "status_code")

    def __init__(self, payload: bytes, function_error: str | None, request_id: str) -> None:
        self.status_code = 200
        self.payload = payload
        self.function_error = function_error
        self.request_id = request_id

    def json(self) -> object:
        return json.loads(self.payload)

    def __repr__(self) -> str:
        return f"InvokeResult({self.function_error!r}, {self.payload[:200]!r})"


def _error(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


class _Environment:
    def __init__(self, process: Supervised, api: RuntimeAPI) -> None:
        self.process = process
        self.api = api
        self.initialized = False


class LocalFunction:
    def __init__(self, name: str, handler: str, code_dir: str, *,
                 environment: Mapping[str, str] | None = None, memory_mb: int = 128,
                 timeout_s: float = 3.0, region: str = "us-east-1",
                 account_id: str = "123456789012", log_dir: str | None = None,
                 version: str = "$LATEST", layer_dirs: Sequence[str] = ()) -> None:
        self.name = name
        self.version = version
        # Layers are extracted to /opt on Lambda and /opt/python is on sys.path.
        self.layer_dirs = [os.path.abspath(d) for d in layer_dirs]
        self.handler = handler
        self.code_dir = os.path.abspath(code_dir)
        self.environment = dict(environment or {})
        self.memory_mb = memory_mb
        self.timeout_s = timeout_s
        self.region = region
        self.arn = f"arn:aws:lambda:{region}:{account_id}:function:{name}"
        self.log_path = os.path.join(log_dir or tempfile.mkdtemp(prefix="fastfn-lambda-"),
                                     f"{name}.log")
        self._lock = threading.Lock()
        self._env: _Environment | None = None
        self.inits = 0  # how many environments were started

    @property
    def runtime_api(self) -> RuntimeAPI | None:
        """The Runtime API of the running environment, if any."""
        return self._env.api if self._env is not None else None

    def process_env(self, api_address: str) -> dict[str, str]:
        stream = time.strftime("%Y/%m/%d") + f"/[{self.version}]" + uuid.uuid4().hex
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "en_US.UTF-8",
            "TZ": ":UTC",
            "AWS_LAMBDA_RUNTIME_API": api_address,
            "_HANDLER": self.handler,
            "AWS_EXECUTION_ENV": EXECUTION_ENV,
            "AWS_LAMBDA_FUNCTION_NAME": self.name,
            "AWS_LAMBDA_FUNCTION_VERSION": self.version,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_mb),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": stream,
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "LAMBDA_TASK_ROOT": self.code_dir,
            "LAMBDA_RUNTIME_DIR": os.path.dirname(sys.executable),
            "PYTHONPATH": os.pathsep.join([self.code_dir, *(os.path.join(d, "python")
                                                             for d in self.layer_dirs)]),
            "PYTHONUNBUFFERED": "1",
        }
        env.update(self.environment)
        return env

    def _start(self) -> _Environment:
        api = RuntimeAPI()
        argv = [sys.executable, "-m", "awslambdaric", self.handler]
        process = spawn.spawn(argv, self.process_env(api.address), self.code_dir,
                              self.log_path)
        self.inits += 1
        return _Environment(process, api)

    def _discard(self) -> None:
        if self._env is not None:
            spawn.kill(self._env.process)
            self._env.api.close()
            self._env = None

    def close(self) -> None:
        with self._lock:
            self._discard()

    def __enter__(self) -> LocalFunction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def invoke(self, payload: bytes | str | object) -> InvokeResult:
        if isinstance(payload, str):
            payload = payload.encode()
        elif not isinstance(payload, bytes):
            payload = json.dumps(payload).encode()
        request_id = str(uuid.uuid4())
        with self._lock:
            return self._invoke(payload, request_id)

    def _invoke(self, payload: bytes, request_id: str) -> InvokeResult:
        if self._env is None or not self._env.process.alive:
            self._discard()
            self._env = self._start()
        env = self._env
        invocation = Invocation(request_id, payload, self.arn, self.timeout_s)
        env.api.submit(invocation)
        failure = self._wait_handed_out(env, invocation)
        if failure is not None:
            self._discard()
            return InvokeResult(failure, "Unhandled", request_id)
        env.initialized = True
        assert invocation.deadline is not None
        while not invocation.done.wait(max(0.0, min(_POLL_S,
                                                    invocation.deadline - time.time()))):
            if not env.process.alive:
                code = env.process.returncode
                self._discard()
                return InvokeResult(_error("Runtime.ExitError",
                                           f"RequestId: {request_id} Error: Runtime exited "
                                           f"with error: exit status {code}"),
                                    "Unhandled", request_id)
            if time.time() >= invocation.deadline:
                break
        if not invocation.done.is_set() or invocation.finished_at > invocation.deadline:
            # Lambda kills the environment at the deadline: a later answer never counts.
            self._discard()
            return InvokeResult(_error("Sandbox.Timedout",
                                       f"RequestId: {request_id} Error: Task timed out "
                                       f"after {self.timeout_s:.2f} seconds"),
                                "Unhandled", request_id)
        if invocation.error_type == "Function.ResponseSizeTooLarge":
            self._discard()
        return InvokeResult(invocation.body, "Unhandled" if invocation.error_type else None,
                            request_id)

    def _wait_handed_out(self, env: _Environment, invocation: Invocation) -> bytes | None:
        """None once the runtime took the invocation; else the init error payload."""
        limit = time.time() + (0 if env.initialized else INIT_TIMEOUT_S) + self.timeout_s
        while not invocation.handed_out.wait(_POLL_S):
            if env.api.init_failed.is_set():
                return env.api.init_error or _error("Runtime.Unknown", "init failed")
            if not env.process.alive:
                if env.api.init_error:
                    return env.api.init_error
                return _error("Runtime.ExitError", "RequestId: " + invocation.request_id +
                              " Error: Runtime exited with error: exit status "
                              f"{env.process.returncode}")
            if time.time() >= limit:
                return _error("Sandbox.Timedout",
                              f"RequestId: {invocation.request_id} Error: Task timed out "
                              f"after {self.timeout_s:.2f} seconds")
        return None

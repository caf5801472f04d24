"""Invokes of functions that live in moto, run by the local Lambda.

`LambdaDispatcher.invoke(name, qualifier, payload)` does what Lambda's data plane does:
the qualifier (none, `$LATEST`, a version or an alias) picks a published version (an
alias with `RoutingConfig.AdditionalVersionWeights` sends that share of invokes to the
extra version, drawn at random per invoke), and the version's configuration (code by
CodeSha256, layers, handler, environment, memory, timeout) picks a warm environment or
starts one. Configuration reads go to moto and are cached until the next write to the
Lambda API (`invalidate()`, called by the front), so a warm invoke costs no moto call.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastfn.localcloud.aws.codestore import CodeStore, CodeStoreError
from fastfn.localcloud.aws.lambda_ import InvokeResult, LocalFunction

log = logging.getLogger("fastfn.localcloud.lambda")


class DispatchError(Exception):
    """An invoke Lambda refuses before running anything (status, error type, message)."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


@dataclass(frozen=True)
class VersionConfig:
    function_name: str
    function_arn: str  # unqualified
    version: str
    handler: str
    code_sha256: str
    layer_arns: tuple[str, ...]
    environment: tuple[tuple[str, str], ...]
    memory_mb: int
    timeout_s: int

    def key(self) -> str:
        return hashlib.sha256(json.dumps([self.version, self.handler, self.code_sha256,
                                          self.layer_arns, self.environment, self.memory_mb,
                                          self.timeout_s]).encode()).hexdigest()


@dataclass
class Route:
    """What a qualifier resolves to: the main version, and the extra one with its weight."""

    main: str
    extra: str | None = None
    weight: float = 0.0

    def pick(self, draw: Callable[[], float]) -> str:
        if self.extra is not None and draw() < self.weight:
            return self.extra
        return self.main


@dataclass
class _Cache:
    generation: int = 0
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    configs: dict[tuple[str, str], VersionConfig] = field(default_factory=dict)


def _split_name(name: str, qualifier: str | None) -> tuple[str, str | None]:
    """A function name, partial ARN or ARN, with an optional `:qualifier` in it."""
    parts = name.split(":")
    if name.startswith("arn:"):
        parts = parts[6:]  # arn:aws:lambda:region:account:function:NAME[:QUALIFIER]
    elif len(parts) >= 3 and parts[1] == "function":  # ACCOUNT:function:NAME[:Q]
        parts = parts[2:]
    base = parts[0] if parts else name
    inline = parts[1] if len(parts) > 1 else None
    if qualifier and inline and qualifier != inline:
        raise DispatchError(400, "InvalidParameterValueException",
                            "The derived qualifier from the function name does not match "
                            "the specified qualifier.")
    return base, qualifier or inline


class LambdaDispatcher:
    def __init__(self, lambda_client: Callable[[], Any], code: CodeStore, log_dir: Path,
                 environment: dict[str, str], *, region: str,
                 draw: Callable[[], float] = random.random,
                 on_invoked: Callable[[VersionConfig, str, InvokeResult, float], None]
                 | None = None) -> None:
        self._client_factory = lambda_client
        self._client: Any = None
        self._code = code
        self._log_dir = log_dir
        self._environment = environment  # what every function process gets (endpoint...)
        self.region = region
        self._draw = draw
        self._on_invoked = on_invoked
        self._lock = threading.Lock()
        self._cache = _Cache()
        self._functions: dict[tuple[str, str], tuple[str, LocalFunction]] = {}
        log_dir.mkdir(parents=True, exist_ok=True)

    def invalidate(self) -> None:
        """The Lambda control plane changed: re-read configurations on the next invoke."""
        with self._lock:
            self._cache = _Cache(generation=self._cache.generation + 1)

    def _lambda(self) -> Any:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def _error_from(self, exc: Exception) -> DispatchError:
        response = getattr(exc, "response", None) or {}
        error = response.get("Error", {})
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 500
        return DispatchError(int(status), str(error.get("Code") or "ServiceException"),
                             str(error.get("Message") or exc))

    def route(self, name: str, qualifier: str | None) -> Route:
        base, qualifier = _split_name(name, qualifier)
        key = (base, qualifier or "$LATEST")
        with self._lock:
            cached = self._cache.routes.get(key)
        if cached is not None:
            return cached
        route = self._read_route(base, qualifier)
        with self._lock:
            self._cache.routes[key] = route
        return route

    def _read_route(self, base: str, qualifier: str | None) -> Route:
        if qualifier is None or qualifier == "$LATEST" or qualifier.isdigit():
            return Route(main=qualifier or "$LATEST")
        try:
            alias = self._lambda().get_alias(FunctionName=base, Name=qualifier)
        except Exception as exc:
            raise self._error_from(exc) from None
        weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        route = Route(main=str(alias["FunctionVersion"]))
        for version, weight in weights.items():
            route.extra, route.weight = str(version), float(weight)
        return route

    def config(self, base: str, version: str) -> VersionConfig:
        key = (base, version)
        with self._lock:
            cached = self._cache.configs.get(key)
        if cached is not None:
            return cached
        try:
            got = self._lambda().get_function_configuration(FunctionName=base,
                                                             Qualifier=version)
        except Exception as exc:
            raise self._error_from(exc) from None
        arn = str(got["FunctionArn"])
        if arn.count(":") > 6:
            arn = arn.rsplit(":", 1)[0]
        config = VersionConfig(
            function_name=str(got["FunctionName"]), function_arn=arn,
            version=str(got.get("Version") or version), handler=str(got.get("Handler") or ""),
            code_sha256=str(got.get("CodeSha256") or ""),
            layer_arns=tuple(str(layer["Arn"]) for layer in got.get("Layers") or ()),
            environment=tuple(sorted(((got.get("Environment") or {}).get("Variables")
                                      or {}).items())),
            memory_mb=int(got.get("MemorySize") or 128), timeout_s=int(got.get("Timeout") or 3))
        with self._lock:
            self._cache.configs[key] = config
        return config

    def _function(self, config: VersionConfig) -> LocalFunction:
        slot = (config.function_name, config.version)
        wanted = config.key()
        with self._lock:
            current = self._functions.get(slot)
            if current is not None and current[0] == wanted:
                return current[1]
        try:
            code_dir = self._code.unzipped(config.code_sha256)
            layer_dirs = []
            for arn in config.layer_arns:
                sha = self._code.layer_sha(arn)
                if sha is None:
                    raise CodeStoreError(f"layer {arn} was not published through this cloud")
                layer_dirs.append(str(self._code.unzipped(sha)))
        except CodeStoreError as exc:
            raise DispatchError(502, "InvalidZipFileException", str(exc)) from None
        fn = LocalFunction(config.function_name, config.handler, str(code_dir),
                           environment=self._environment | dict(config.environment),
                           memory_mb=config.memory_mb, timeout_s=float(config.timeout_s),
                           region=self.region,
                           account_id=config.function_arn.split(":")[4],
                           log_dir=str(self._log_dir), version=config.version,
                           layer_dirs=layer_dirs)
        with self._lock:
            old = self._functions.get(slot)
            self._functions[slot] = (wanted, fn)
        if old is not None:
            old[1].close()
        return fn

    def invoke(self, name: str, qualifier: str | None,
               payload: bytes) -> tuple[VersionConfig, InvokeResult]:
        base, qualifier = _split_name(name, qualifier)
        version = self.route(base, qualifier).pick(self._draw)
        config = self.config(base, version)
        fn = self._function(config)
        began = time.perf_counter()
        result = fn.invoke(payload)
        if self._on_invoked is not None:
            self._on_invoked(config, qualifier or "$LATEST", result,
                             (time.perf_counter() - began) * 1000)
        return config, result

    def log_paths(self) -> list[Path]:
        return sorted(self._log_dir.glob("*.log"))

    def close(self) -> None:
        with self._lock:
            functions = [fn for _, fn in self._functions.values()]
            self._functions.clear()
        for fn in functions:
            fn.close()

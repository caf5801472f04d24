"""Running functions on the local Fn platform: the Invoker that Events and invoke use."""


from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastfn.localcloud.oci.core.auth import TokenAuthority
from fastfn.localcloud.oci.core.context import CloudContext
from fastfn.localcloud.oci.core.errors import (
    not_found,
)
from fastfn.localcloud.oci.images import ImageRecord, ImageStore
from fastfn.localcloud.oci.logs import FunctionLogs
from fastfn.localcloud.oci.principals import ResourcePrincipals

if TYPE_CHECKING:
    from fastfn.localcloud.fn.platform import FnPlatform, FnResponse, FunctionSpec
    from fastfn.localcloud.oci.functions.resolve import RegistryResolver, ResolvedImage

from fastfn.localcloud.oci.core.invoke import InvokeFailure
from fastfn.localcloud.oci.core.layout import StateLayout
from fastfn.localcloud.oci.functions.models import APPLICATION, FUNCTION

log = logging.getLogger("fastfn.localcloud.oci.functions")

IMAGE_CACHE = "image-cache"  # under the state dir: pulled images and rootfs, by digest
IMAGE_NOT_AVAILABLE = ("FunctionInvokeImageNotAvailable", "Failed to pull function image")



class FunctionRunner:
    """Functions' backend for invoking: no HTTP, plain methods over the stored functions."""

    def __init__(self, ctx: CloudContext, images: ImageStore, tokens: TokenAuthority,
                 max_instances: int = 2) -> None:
        self.ctx = ctx
        self.images = images
        self.principals = ResourcePrincipals(ctx, tokens)
        self.max_instances = max_instances
        self._platform: FnPlatform | None = None
        self._background: set[asyncio.Task[Any]] = set()
        # What the Functions service itself needs (policies, network) before a pull.
        self.pull_check: Callable[[dict[str, Any], dict[str, Any]],
                                  InvokeFailure | None] | None = None
        self.logs = FunctionLogs(StateLayout(ctx.state_dir).logs)
        self._app_names: dict[str, str] = {}
        # The local OCIR: images named with an OCIR host that the image store (source
        # snapshots, `--set build=source`) does not hold are pulled from it and run from
        # their rootfs.
        self.registry: RegistryResolver | None = None


    # -- platform ------------------------------------------------------------------------

    def platform(self) -> FnPlatform:
        if self._platform is None:
            # Imported on first invoke: a cloud that never runs a function does not pay.
            from fastfn.localcloud.fn.image_runtime import ImageCache
            from fastfn.localcloud.fn.platform import FnPlatform

            self._platform = FnPlatform(work_dir=StateLayout(self.ctx.state_dir).instances,
                                        max_instances=self.max_instances,
                                        log_sink=self._log_function_line,
                                        images=ImageCache(self.ctx.state_dir / IMAGE_CACHE))
        return self._platform


    async def aclose(self) -> None:
        for task in list(self._background):
            task.cancel()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        if self._platform is not None:
            await self._platform.aclose()
            # Empty after a clean stop; a killed run leaves its pid files for the next.
            with contextlib.suppress(OSError):
                self._platform.work_dir.rmdir()
            self._platform = None


    # -- logs ----------------------------------------------------------------------------

    def _log_function_line(self, fn_name: str, line: str) -> None:
        """Keep a function's output line (for `fastfn logs`) and pass it to our log:
        warnings and errors at their level, so `fastfn cloud up` shows them at once."""
        app = self._app_names.get(fn_name)
        if app is None:
            app = ""
            with contextlib.suppress(Exception):
                for fn in self.ctx.store.find(FUNCTION, name=fn_name):
                    found = self.ctx.store.get(APPLICATION, fn["applicationId"])
                    app = found["displayName"] if found else ""
            self._app_names[fn_name] = app
        try:
            entry = self.logs.record(fn_name, app, line)
        except OSError:
            log.warning("function log not kept", exc_info=True)
            entry = {"level": "info"}
        level = entry["level"]
        logging.getLogger(f"fastfn.fn.{fn_name}").log(
            logging.ERROR if level in ("error", "critical", "fatal")
            else logging.WARNING if level in ("warning", "warn") else logging.INFO, line)

    # -- functions -----------------------------------------------------------------------

    def function(self, fn_id: str) -> dict[str, Any]:
        fn = self.ctx.store.get(FUNCTION, fn_id)
        if fn is None:
            raise not_found("function")
        return fn


    async def platform_stop(self, fn_id: str) -> None:
        if self._platform is not None:
            await self._platform.stop_function(fn_id)


    async def _stop_functions_of(self, app_id: str) -> None:
        for fn in self.ctx.store.find(FUNCTION, parent=app_id):
            await self.platform_stop(fn["id"])


    # -- invoke --------------------------------------------------------------------------

    async def spec(self, fn: dict[str, Any]) -> FunctionSpec:
        from fastfn.localcloud.fn.platform import FunctionSpec

        app = self.ctx.store.get(APPLICATION, fn["applicationId"])
        if app is None:
            raise InvokeFailure(404, "NotAuthorizedOrNotFound", "The application was deleted.")
        failure = self.pull_check(fn, app) if self.pull_check is not None else None
        if failure is not None:
            raise failure
        source = fn["sourceDetails"]
        snapshot, pulled = await self.resolve_image(source["image"],
                                                    source.get("imageDigest"),
                                                    app.get("shape") or "GENERIC_X86")
        spec = FunctionSpec(
            fn_id=fn["id"], fn_name=fn["displayName"], app_id=app["id"],
            app_name=app["displayName"], source_dir=self.ctx.state_dir, app="",
            config={**app["config"], **fn["config"]}, memory_mb=fn["memoryInMBs"],
            timeout_s=float(fn["timeoutInSeconds"]),
            platform_env=self.principals.environment(fn))
        if pulled is not None:
            spec.image = pulled.source  # its own CMD, rootfs and uid
        else:
            assert snapshot is not None
            spec.source_dir, spec.app, spec.command = (snapshot.source_dir, snapshot.app,
                                                       snapshot.command)
        return spec

    async def resolve_image(self, image: str, digest: str | None, shape: str
                            ) -> tuple[ImageRecord | None, ResolvedImage | None]:
        """The image store's snapshot, else the registry's image for the shape; what
        cannot be pulled is OCI's 502 FunctionInvokeImageNotAvailable (cause logged).
        The registry is asked from a worker thread: a slow registry does not hold up the
        cloud's other calls."""
        snapshot = self.images.resolve(image, digest)
        if snapshot is not None:
            return snapshot, None
        if self.registry is not None and self.registry.handles(image):
            from fastfn.localcloud.oci.functions.resolve import PullFailure

            try:
                return None, await asyncio.to_thread(self.registry.resolve, image, digest,
                                                     shape)
            except PullFailure as exc:
                log.warning("invoke refused: %s: %s", IMAGE_NOT_AVAILABLE[0], exc)
                raise InvokeFailure(502, *IMAGE_NOT_AVAILABLE) from None
        log.warning("invoke refused: %s: %s%s is not in the local image store",
                    IMAGE_NOT_AVAILABLE[0], image, f"@{digest}" if digest else "")
        raise InvokeFailure(502, *IMAGE_NOT_AVAILABLE)

    async def run(self, fn_id: str, body: bytes, headers: list[tuple[str, str]],
                  timeout_s: float | None = None) -> FnResponse:
        """Invoke a function on the local platform; raises InvokeFailure for platform errors."""
        fn = self.ctx.store.get(FUNCTION, fn_id)
        if fn is None:
            raise InvokeFailure(404, "NotAuthorizedOrNotFound",
                            "Authorization failed or requested function not found.")
        spec = await self.spec(fn)
        if timeout_s is not None:
            spec.timeout_s = timeout_s
        response = await self.platform().invoke(spec, body, headers)
        if response.status != 200:
            code, message = _platform_error(response)
            raise InvokeFailure(response.status, code, message)
        return response


    async def _detached(self, fn_id: str, body: bytes, headers: list[tuple[str, str]],
                        timeout: int | None) -> None:
        try:
            await self.run(fn_id, body, headers, timeout_s=float(timeout) if timeout else None)
        except InvokeFailure as exc:
            log.warning("detached invoke failed", extra={"fn_id": fn_id, "code": exc.code})
        except Exception:
            log.exception("detached invoke failed", extra={"fn_id": fn_id})


def _platform_error(response: FnResponse) -> tuple[str, str]:
    try:
        data = json.loads(response.body)
        if isinstance(data, dict) and "code" in data:
            return str(data["code"]), str(data.get("message", ""))
    except ValueError:
        pass
    if response.status == 504:
        return "FunctionInvokeTimeout", "The function timed out."
    return "FunctionInvokeExecutionFailed", "The function failed; see its log."



"""Running the local OCI cloud: in a background thread (tests, tools) or in the foreground.

    with LocalCloud(state_dir) as cloud:
        os_client = cloud.client(oci.object_storage.ObjectStorageClient)

`serve()` is `fastfn cloud up`; `config_text()` is `fastfn cloud config`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from fastfn.localcloud.oci.core.context import CloudIdentity
from fastfn.localcloud.oci.core.files import replace_atomically
from fastfn.localcloud.oci.core.layout import StateLayout
from fastfn.localcloud.oci.images import ImageStore
from fastfn.localcloud.oci.principals import proxy_environment
from fastfn.localcloud.oci.proxy import ConnectProxy, LocalCA
from fastfn.localcloud.oci.server import CloudServices

if TYPE_CHECKING:
    from fastfn.localcloud.registry import LocalRegistry

log = logging.getLogger("fastfn.localcloud.oci")

C = TypeVar("C")
STARTUP_TIMEOUT_S = 30.0


def write_config_file(state_dir: Path, identity: CloudIdentity, fingerprint: str) -> Path:
    """An oci config file (profile DEFAULT) for the SDK and the CLI."""
    layout = StateLayout(state_dir)
    key_file = layout.api_key.resolve()
    path = layout.oci_config
    path.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "[DEFAULT]\n"
        f"user={identity.user_id}\n"
        f"fingerprint={fingerprint}\n"
        f"tenancy={identity.tenancy_id}\n"
        f"region={identity.region}\n"
        f"key_file={key_file}\n"
    )
    # 0600: the CLI warns about (and may refuse) readable config files.
    replace_atomically(path, text.encode(), 0o600)
    return path


class _Runner:
    """Serves the cloud on an event loop: the API server and the CONNECT proxy."""

    def __init__(self, services: CloudServices, host: str, port: int,
                 proxy_port: int | None,
                 on_ready: Callable[[dict[str, str]], None] | None = None,
                 registry: str = "") -> None:
        import uvicorn

        self.on_ready = on_ready
        self.registry = registry  # host:port of the local OCIR, "" when none
        self.services = services
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = host, self.sock.getsockname()[1]
        services.ctx.endpoint = f"http://{host}:{self.port}"
        self.proxy_port = proxy_port
        self.ca = LocalCA(services.layout)
        services.ctx.ca_bundle = self.ca.bundle()
        config = uvicorn.Config(services.app(), lifespan="on", log_level="warning",
                                access_log=False, timeout_keep_alive=30,
                                http=_no_delay_protocol())
        self.server = _quiet_exit_server(uvicorn.Server)(config)
        self.proxy: ConnectProxy | None = None

    async def run(self) -> None:
        if self.proxy_port is not None:
            self.proxy = ConnectProxy(self.ca, self.host, self.port)
            bound = await self.proxy.start(self.host, self.proxy_port)
            self.services.ctx.proxy_url = f"http://{self.host}:{bound}"
        _write_running(self.services, self.registry)
        announce = asyncio.create_task(self._announce())
        try:
            await self.server.serve(sockets=[self.sock])
        finally:
            announce.cancel()
            if self.proxy is not None:
                await self.proxy.aclose()
            with contextlib.suppress(OSError):
                self.services.layout.endpoint_file.unlink()


    def accepted_sockets(self) -> dict[str, list[socket.socket]]:
        """The server side of the API's and the proxy's open connections."""
        api = [c.transport.get_extra_info("socket")
               for c in list(self.server.server_state.connections)
               if getattr(c, "transport", None) is not None]
        proxy = self.proxy.accepted_sockets() if self.proxy is not None else []
        return {"api": [s for s in api if s is not None], "proxy": proxy}

    async def _announce(self) -> None:
        while not self.server.started:
            await asyncio.sleep(0.01)
        if self.on_ready is not None:
            urls = {"endpoint": self.services.ctx.endpoint,
                    "proxy": self.services.ctx.proxy_url}
            if self.registry:
                urls["registry"] = self.registry
            self.on_ready(urls)


def _no_delay_protocol() -> type[Any]:
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    class NoDelayProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
        """TCP_NODELAY on every connection: a response written as headers, then body,
        otherwise waits ~40 ms for the client's delayed ACK (Nagle)."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            super().connection_made(transport)

    return NoDelayProtocol


def _quiet_exit_server(base: type[Any]) -> type[Any]:
    class Server(base):  # type: ignore[misc, valid-type]
        """uvicorn's server, minus re-raising SIGINT/SIGTERM after its graceful shutdown:
        serve() must return so the proxy is closed and the endpoint file removed, and a
        requested stop is a clean exit (status 0)."""

        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit)
                        for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server


def _write_running(services: CloudServices, registry: str = "") -> None:
    path = services.layout.endpoint_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"endpoint": services.ctx.endpoint,
                                "proxy": services.ctx.proxy_url, "pid": os.getpid(),
                                "registry": registry}))


def _start_registry(services: CloudServices) -> LocalRegistry:
    from fastfn.localcloud.oci.functions.resolve import RegistryResolver
    from fastfn.localcloud.registry import LocalRegistry

    registry = LocalRegistry(StateLayout(services.state_dir).root / "registry").start()
    # Functions pull OCIR-named images that are not source snapshots from it.
    services.functions.registry = RegistryResolver(registry.address)
    return registry


class LocalCloud:
    """A local OCI cloud served from a background thread, for tests and tools."""

    def __init__(self, state_dir: Path, *, tenancy_file: Path | None = None,
                 region: str | None = None, host: str = "127.0.0.1", port: int = 0,
                 proxy_port: int | None = 0,
                 event_retry_delays: tuple[float, ...] | None = None,
                 max_instances: int = 2, record_operations: bool = False,
                 enforce: bool | None = None, registry: bool = False) -> None:
        self.state_dir = Path(state_dir)
        self._with_registry = registry  # also run the local OCIR (docker-registry)
        self.registry: LocalRegistry | None = None
        # enforce: None = when a tenancy file is loaded (the default), or forced on/off
        self._args = dict(tenancy_file=tenancy_file, region=region,
                          event_retry_delays=event_retry_delays, max_instances=max_instances,
                          record_operations=record_operations, enforce=enforce)
        self._host, self._port, self._proxy_port = host, port, proxy_port
        self._thread: threading.Thread | None = None
        self._runner: _Runner | None = None
        self._error: BaseException | None = None
        self.services: CloudServices | None = None

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> LocalCloud:
        self.services = CloudServices(self.state_dir, **self._args)  # type: ignore[arg-type]
        if self._with_registry:
            self.registry = _start_registry(self.services)
        self._runner = _Runner(self.services, self._host, self._port, self._proxy_port,
                               registry=self.registry.address if self.registry else "")
        self._thread = threading.Thread(target=self._run, name="fastfn-localcloud-oci",
                                        daemon=True)
        self._thread.start()
        server = self._runner.server
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        if not server.started:
            self.stop()
            raise RuntimeError(f"local cloud failed to start: {self._error!r}")
        write_config_file(self.state_dir, self.services.identity, self.services.fingerprint)
        log.info("local OCI cloud up", extra={"endpoint": self.endpoint})
        return self

    def _run(self) -> None:
        assert self._runner is not None
        try:
            asyncio.run(self._runner.run())
        except BaseException as exc:
            self._error = exc
            log.exception("local cloud stopped with an error")

    def stop(self) -> None:
        if self._runner is not None:
            self._runner.server.should_exit = True
        if self._thread is not None:
            self._thread.join(STARTUP_TIMEOUT_S)
            self._thread = None
        if self.services is not None:
            self.services.close()
        if self.registry is not None:
            self.registry.stop()
            self.registry = None

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what callers need ----------------------------------------------------------------

    @property
    def _svc(self) -> CloudServices:
        if self.services is None:
            raise RuntimeError("the local cloud is not running")
        return self.services

    @property
    def endpoint(self) -> str:
        return self._svc.ctx.endpoint

    @property
    def proxy_url(self) -> str:
        return self._svc.ctx.proxy_url

    @property
    def tenancy_id(self) -> str:
        return self._svc.identity.tenancy_id

    @property
    def compartment_id(self) -> str:
        return self._svc.identity.compartment_id

    @property
    def namespace(self) -> str:
        return self._svc.identity.namespace

    @property
    def vault_id(self) -> str:
        return self._svc.identity.vault_id

    @property
    def key_id(self) -> str:
        """The vault's key (secrets name it as keyId)."""
        from fastfn.localcloud.oci.kms import default_key_id

        return default_key_id(self._svc.identity)

    @property
    def region(self) -> str:
        return self._svc.identity.region

    @property
    def subnet_id(self) -> str:
        """The default subnet (applications need one)."""
        return next(s["id"] for s in self._svc.tenancy.by_kind["subnet"]
                    if s["displayName"] == "local-subnet")

    @property
    def config_file(self) -> Path:
        return StateLayout(self.state_dir).oci_config

    @property
    def config(self) -> dict[str, Any]:
        svc = self._svc
        return {
            "user": svc.identity.user_id, "tenancy": svc.identity.tenancy_id,
            "fingerprint": svc.fingerprint, "region": svc.identity.region,
            "key_file": str(svc.layout.api_key.resolve()),
        }

    def client(self, client_class: type[C], **kwargs: Any) -> C:
        """A real oci SDK client pointed at the local cloud."""
        kwargs.setdefault("service_endpoint", self.endpoint)
        return client_class(self.config, **kwargs)  # type: ignore[call-arg]

    def proxy_env(self) -> dict[str, str]:
        """Environment that sends unmodified oci SDK code (default endpoints) here."""
        return proxy_environment(self._svc.ctx)

    @property
    def images(self) -> ImageStore:
        return self._svc.images

    def event_deliveries(self, state: str | None = None) -> list[dict[str, Any]]:
        return self._svc.events.deliveries(state)

    def accepted_sockets(self) -> dict[str, list[socket.socket]]:
        """Server-side sockets of open connections, by listener ("api", "proxy")."""
        if self._runner is None:
            raise RuntimeError("the local cloud is not running")
        return self._runner.accepted_sockets()


def serve(state_dir: Path, host: str = "127.0.0.1", port: int = 10000,
          proxy_port: int | None = 10001, tenancy_file: Path | None = None,
          on_ready: Callable[[dict[str, str]], None] | None = None,
          record_operations: bool = False, registry: bool = True) -> None:
    """`fastfn cloud up`: serve in the foreground until SIGINT/SIGTERM.

    `on_ready` is called once clients can connect, with the endpoint and proxy URLs
    (`config_text(state_dir)` then shows the full settings). Port 0 picks free ports.
    `registry`: also serve the local OCIR (docker-registry on a free loopback port);
    when docker-registry is not installed the cloud runs without it and says so.
    """
    from fastfn.localcloud.registry import RegistryMissing

    services = CloudServices(Path(state_dir), tenancy_file=tenancy_file,
                             record_operations=record_operations)
    local_registry = None
    if registry:
        try:
            local_registry = _start_registry(services)
        except RegistryMissing as exc:
            log.warning("%s; images cannot be pushed to this cloud", exc)
    runner = _Runner(services, host, port, proxy_port, on_ready,
                     registry=local_registry.address if local_registry else "")
    write_config_file(services.state_dir, services.identity, services.fingerprint)
    try:
        asyncio.run(runner.run())
    except KeyboardInterrupt:
        pass
    finally:
        services.close()
        if local_registry is not None:
            local_registry.stop()


def event_deliveries(state_dir: Path, state: str | None = None) -> list[dict[str, Any]]:
    """Event deliveries recorded in a state dir (PENDING, DELIVERED or FAILED), oldest
    first; readable while the cloud runs (for `fastfn cloud events`, say)."""
    from fastfn.localcloud.oci.core.store import Store
    from fastfn.localcloud.oci.events.models import deliveries

    store = Store(StateLayout(Path(state_dir)).db)
    try:
        return deliveries(store, state)
    finally:
        store.close()


def config_text(state_dir: Path) -> str:
    """`fastfn cloud config`: the settings that point the oci SDK and CLI at the cloud."""
    from fastfn.localcloud.oci.core.auth import fingerprint, load_or_create_key
    from fastfn.localcloud.oci.kms import default_key_id

    state_dir = Path(state_dir)
    identity = CloudIdentity.load_or_create(state_dir)
    layout = StateLayout(state_dir)
    key = load_or_create_key(layout.api_key)
    config_path = write_config_file(state_dir, identity, fingerprint(key.public_key()))
    running_path = layout.endpoint_file
    running = json.loads(running_path.read_text()) if running_path.exists() else {}
    endpoint = running.get("endpoint") or "http://127.0.0.1:10000 (when `fastfn cloud up` runs)"
    proxy = running.get("proxy") or "http://127.0.0.1:10001"
    registry = running.get("registry") or "(when `fastfn cloud up` runs)"
    bundle = layout.ca_bundle.resolve()
    return "\n".join([
        "# fastfn local OCI cloud",
        f"# endpoint:       {endpoint}",
        f"# tenancy:        {identity.tenancy_id}",
        f"# compartment:    {identity.compartment_id}",
        f"# namespace:      {identity.namespace}",
        f"# vault:          {identity.vault_id}",
        f"# key:            {default_key_id(identity)}",
        f"# region:         {identity.region}",
        f"# registry:       {registry} (OCIR's <region>.ocir.io/<namespace>/<repo>"
        " is <registry>/<namespace>/<repo>; plain HTTP: --tls-verify=false)",
        "#",
        "# oci SDK and CLI config (profile DEFAULT):",
        f"export OCI_CONFIG_FILE={config_path.resolve()}",
        f"export OCI_CLI_CONFIG_FILE={config_path.resolve()}",
        "#",
        "# Either pass the endpoint: oci --endpoint <endpoint> os ns get",
        "#   (SDK: Client(config, service_endpoint=<endpoint>)), or send OCI's own host",
        "# names here with no code change, through the local HTTPS proxy:",
        f"export HTTPS_PROXY={proxy}",
        f"export REQUESTS_CA_BUNDLE={bundle}",
        "export NO_PROXY=127.0.0.1,localhost",
        "",
    ])

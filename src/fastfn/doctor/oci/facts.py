"""Everything the OCI checks read, gathered once through read-only SDK calls.

The same calls go to real OCI or to the local cloud (`endpoint` set). A read that fails
is recorded in `errors` (what -> "404 NotAuthorizedOrNotFound ...") and the checks that
need it report `skip` with that error; nothing here writes anything.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from fastfn.doctor.service import ServiceFiles

log = logging.getLogger("fastfn.doctor")


@dataclass(frozen=True)
class ImageRef:
    host: str
    namespace: str
    repository: str  # path inside the namespace, e.g. hello-world-app/postgres-inserter
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, ref: str) -> ImageRef:
        name, _, digest = ref.partition("@")
        parts = name.split("/")
        last = parts[-1]
        tag = None
        if ":" in last:
            last, tag = last.split(":", 1)
        host = parts[0] if len(parts) > 1 else ""
        namespace = parts[1] if len(parts) > 2 else ""
        repo = "/".join([*parts[2:-1], last]) if len(parts) > 2 else last
        return cls(host, namespace, repo, tag, digest or None)


@dataclass
class Facts:
    region: str
    tenancy_id: str
    function_id: str
    endpoint: str | None = None
    function: Any = None
    application: Any = None
    subnets: list[Any] = field(default_factory=list)
    route_tables: dict[str, Any] = field(default_factory=dict)
    gateways: dict[str, Any] = field(default_factory=dict)  # service/internet/nat by id
    security_lists: dict[str, Any] = field(default_factory=dict)
    nsgs: dict[str, Any] = field(default_factory=dict)
    nsg_rules: dict[str, list[Any]] = field(default_factory=dict)
    services: list[Any] = field(default_factory=list)  # Oracle Services Network services
    compartments: list[Any] = field(default_factory=list)
    policies: list[Any] = field(default_factory=list)
    dynamic_groups: list[Any] = field(default_factory=list)
    repository: Any = None
    images: list[Any] = field(default_factory=list)  # in the function's repository
    tagged: list[Any] = field(default_factory=list)  # images the function's tag names now
    signatures: list[Any] = field(default_factory=list)  # of the function's image
    platforms: list[str] | None = None  # from the registry manifest, when readable
    image_command: list[str] | None = None  # the image's Entrypoint + Cmd, when readable
    errors: dict[str, str] = field(default_factory=dict)
    service: ServiceFiles | None = None
    clients: Any = None  # for checks that probe (the API-key check)

    @property
    def image_text(self) -> str | None:
        """The function's image (`source_details.image` in newer API versions)."""
        source = getattr(self.function, "source_details", None)
        return getattr(self.function, "image", None) or getattr(source, "image", None)

    @property
    def image_digest(self) -> str | None:
        source = getattr(self.function, "source_details", None)
        return (getattr(self.function, "image_digest", None)
                or getattr(source, "image_digest", None))

    @property
    def image(self) -> ImageRef | None:
        text = self.image_text if self.function is not None else None
        return ImageRef.parse(text) if text else None

    def compartment_path(self, compartment_id: str) -> str | None:
        """`A:B` for a compartment as a policy in the root names it; None for the root."""
        if compartment_id == self.tenancy_id:
            return None
        by_id = {c.id: c for c in self.compartments}
        names: list[str] = []
        cur = by_id.get(compartment_id)
        while cur is not None:
            names.append(cur.name)
            cur = by_id.get(cur.compartment_id)
        return ":".join(reversed(names)) if names else compartment_id

    def location(self, compartment_id: str) -> str:
        """The policy location text for a compartment, from a root policy."""
        path = self.compartment_path(compartment_id)
        return "tenancy" if path is None else f"compartment {path}"


class Clients:
    """The SDK clients the doctor reads with (made on first use)."""

    def __init__(self, config: dict[str, Any], endpoint: str | None = None,
                 signer: Any = None, registry: Any = None) -> None:
        self.config, self.endpoint, self.signer = config, endpoint, signer
        self.registry = registry  # a registry.RegistryReader, or None: not read
        self._made: dict[str, Any] = {}

    def kwargs(self) -> dict[str, Any]:
        import oci

        kwargs: dict[str, Any] = {"retry_strategy": oci.retry.NoneRetryStrategy(),
                                  "timeout": (10, 60)}
        if self.endpoint:
            kwargs["service_endpoint"] = self.endpoint
        if self.signer is not None:
            kwargs["signer"] = self.signer
        return kwargs

    def get(self, name: str) -> Any:
        if name not in self._made:
            import oci

            cls = {"functions": oci.functions.FunctionsManagementClient,
                   "identity": oci.identity.IdentityClient,
                   "network": oci.core.VirtualNetworkClient,
                   "artifacts": oci.artifacts.ArtifactsClient,
                   "objectstorage": oci.object_storage.ObjectStorageClient}[name]
            self._made[name] = cls(self.config, **self.kwargs())
        return self._made[name]


def _all(call: Any, *args: Any, **kwargs: Any) -> list[Any]:
    import oci

    data = oci.pagination.list_call_get_all_results(call, *args, **kwargs).data
    return list(data.items) if hasattr(data, "items") else list(data)


def gather(clients: Clients, function_id: str,
           service: ServiceFiles | None = None) -> Facts:
    import oci

    config = clients.config
    facts = Facts(region=str(config.get("region", "")), tenancy_id=str(config["tenancy"]),
                  function_id=function_id, endpoint=clients.endpoint, service=service,
                  clients=clients)

    def read(what: str, fn: Any) -> Any:
        try:
            return fn()
        except oci.exceptions.ServiceError as exc:
            facts.errors[what] = f"{exc.status} {exc.code}: {exc.message}"
        except (oci.exceptions.RequestException, OSError) as exc:
            facts.errors[what] = f"{type(exc).__name__}: {exc}"
        return None

    fns = clients.get("functions")
    facts.function = read("function", lambda: fns.get_function(function_id).data)
    if facts.function is None:
        return facts
    fn = facts.function
    facts.application = read("application", lambda: fns.get_application(
        fn.application_id).data)
    identity = clients.get("identity")
    root = facts.tenancy_id
    facts.compartments = read("compartments", lambda: _all(
        identity.list_compartments, root, compartment_id_in_subtree=True)) or []
    policies: list[Any] = []
    for cid in [root, *(c.id for c in facts.compartments)]:
        policies.extend(read("policies", lambda cid=cid: _all(identity.list_policies, cid))
                        or [])
    facts.policies = policies
    facts.dynamic_groups = read("dynamic groups", lambda: _all(
        identity.list_dynamic_groups, root)) or []
    _gather_network(facts, clients, read)
    _gather_image(facts, clients, read)
    return facts


def _gather_network(facts: Facts, clients: Clients, read: Any) -> None:
    app = facts.application
    if app is None:
        return
    net = clients.get("network")
    for sid in app.subnet_ids or []:
        subnet = read(f"subnet {sid}", lambda sid=sid: net.get_subnet(sid).data)
        if subnet is None:
            continue
        facts.subnets.append(subnet)
        rt_id = subnet.route_table_id
        if rt_id and rt_id not in facts.route_tables:
            rt = read(f"route table {rt_id}", lambda rt_id=rt_id: net.get_route_table(
                rt_id).data)
            if rt is not None:
                facts.route_tables[rt_id] = rt
                for rule in rt.route_rules or []:
                    _gateway(facts, net, rule.network_entity_id, read)
        for sl_id in subnet.security_list_ids or []:
            if sl_id not in facts.security_lists:
                sl = read(f"security list {sl_id}", lambda sl_id=sl_id: net.get_security_list(
                    sl_id).data)
                if sl is not None:
                    facts.security_lists[sl_id] = sl
    for nsg_id in app.network_security_group_ids or []:
        nsg = read(f"nsg {nsg_id}", lambda nsg_id=nsg_id: net.get_network_security_group(
            nsg_id).data)
        if nsg is not None:
            facts.nsgs[nsg_id] = nsg
            facts.nsg_rules[nsg_id] = read(
                f"nsg rules {nsg_id}", lambda nsg_id=nsg_id: _all(
                    net.list_network_security_group_security_rules, nsg_id)) or []
    facts.services = read("services", lambda: _all(net.list_services)) or []


def _gateway(facts: Facts, net: Any, entity_id: str | None, read: Any) -> None:
    if not entity_id or entity_id in facts.gateways:
        return
    kind = entity_id.split(".")[1] if entity_id.count(".") > 2 else ""
    getter = {"servicegateway": net.get_service_gateway,
              "internetgateway": net.get_internet_gateway,
              "natgateway": net.get_nat_gateway}.get(kind)
    if getter is None:
        return
    gateway = read(f"gateway {entity_id}", lambda: getter(entity_id).data)
    if gateway is not None:
        facts.gateways[entity_id] = gateway


def _gather_image(facts: Facts, clients: Clients, read: Any) -> None:
    ref = facts.image
    if ref is None:
        return
    art = clients.get("artifacts")
    repos = read("container repositories", lambda: _all(
        art.list_container_repositories, facts.tenancy_id, compartment_id_in_subtree=True,
        display_name=ref.repository)) or []
    facts.repository = next((r for r in repos if r.display_name == ref.repository), None)
    if facts.repository is None:
        return
    repo = facts.repository
    facts.images = read("container images", lambda: _all(
        art.list_container_images, repo.compartment_id, repository_id=repo.id)) or []
    if clients.registry is not None and facts.image_digest in {i.digest for i in facts.images}:
        from fastfn.doctor.oci.registry import RegistryUnreadable

        try:
            name = f"{ref.namespace}/{ref.repository}" if ref.namespace else ref.repository
            config = clients.registry.image_config(ref.host, name, str(facts.image_digest))
            facts.platforms, facts.image_command = list(config.platforms), list(config.command)
        except RegistryUnreadable as exc:
            facts.errors["registry manifest"] = str(exc)
    if ref.tag:
        facts.tagged = read("tagged images", lambda: _all(
            art.list_container_images, repo.compartment_id, repository_id=repo.id,
            version=ref.tag)) or []
    digest = facts.image_digest
    image = next((i for i in facts.images if i.digest == digest), None)
    policy = getattr(facts.application, "image_policy_config", None)
    if image is not None and policy is not None and policy.is_policy_enabled:
        facts.signatures = read("image signatures", lambda: _all(
            art.list_container_image_signatures, repo.compartment_id,
            image_id=image.id)) or []

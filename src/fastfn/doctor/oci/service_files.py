"""What the service directory holds: func.yaml keys OCI does not read, and the image's
command against the Fn socket contract."""

from __future__ import annotations

from typing import Any

from fastfn.doctor.findings import Finding, fail, ok, skip, warn
from fastfn.doctor.oci.facts import Facts

FUNC_YAML, CMD = "func-yaml.keys", "container.cmd"
NOT_OCI = {
    "oracle.com/oci/auth/principal": (
        "not an OCI setting: a function always has a resource principal; it is used when "
        "the function matches a dynamic group's rule and a policy grants that group",
        "delete the key; dynamic group rule ALL {resource.type = 'fnfunc', "
        "resource.compartment.id = '<c>'} + Allow dynamic-group <dg> to ... and "
        "oci.auth.signers.get_resource_principals_signer() in code"),
    "fn.oci.oracle.com/fn/invokeEndpoint": (
        "not an OCI setting: `oci fn function invoke` always POSTs the body to the "
        "function; nothing routes it to a path",
        "delete the key; fastfn.yaml default_route: POST /items (the runtime reads "
        "FASTFN_DEFAULT_ROUTE)"),
}


def _keys(node: Any, path: str = "") -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if key in NOT_OCI:
                found.append((str(key), where))
            found.extend(_keys(value, where))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_keys(value, f"{path}[{i}]"))
    return found


def check(facts: Facts) -> list[Finding]:
    service = facts.service
    if facts.image_command is not None:
        command, source = facts.image_command, "the image's config"
    else:
        command, source = (service.command if service else None), "the Dockerfile"
    out: list[Finding] = [_command(command, source)]
    if service is None:
        return [*out, skip(FUNC_YAML, "no service directory given")]
    if service.func_yaml_error:
        out.append(fail(FUNC_YAML, service.func_yaml_error))
    elif service.func_yaml is None:
        out.append(skip(FUNC_YAML, "no func.yaml"))
    else:
        hits = _keys(service.func_yaml)
        for key, where in hits:
            cause, fix = NOT_OCI[key]
            out.append(warn(FUNC_YAML, f"func.yaml {where}: {cause}", fix))
        if not hits:
            out.append(ok(FUNC_YAML, "func.yaml holds no keys that OCI ignores"))
    return out


def _command(command: list[str] | None, source: str) -> Finding:
    if command is None:
        return skip(CMD, "neither the image's config nor a Dockerfile could be read")
    if not command:
        return fail(CMD, f"{source}: no CMD or ENTRYPOINT: the container exits and invoke "
                         "fails (502 'Invalid Image'/init error)",
                    'CMD ["fastfn", "serve", "main:app"] (fastfn dockerfile writes it)')
    text = f"{source}: " + " ".join(command)
    words = text.replace("/", " ").split()
    if "fastfn" in words and "serve" in words and "--http" not in words:
        return ok(CMD, f"{text}: serves the Fn http-stream contract")
    if any(w in ("fdk", "func.py") for w in words):
        return ok(CMD, f"{text}: the Fn FDK")
    servers = [w for w in ("uvicorn", "gunicorn", "hypercorn") if w in words]
    if servers or "--http" in words:
        how = ("binds lsnr.sock itself" if "--uds" in words or "lsnr.sock" in text
               else "listens on TCP, which the Fn agent never dials")
        return fail(CMD, f"{text}: {how} and serves the app as plain HTTP; the Fn contract "
                         "is to bind a phony socket under FN_LISTENER, chmod it 0666, then "
                         "symlink lsnr.sock, and to answer POST /call: the container "
                         "never becomes ready (504 FunctionInvokeContainerInitTimeout/"
                         "Timeout) or the app sees POST /call",
                    'CMD ["fastfn", "serve", "main:app"] (fastfn dockerfile writes it)')
    return warn(CMD, f"{text}: not a known Fn entrypoint; it must serve FN_LISTENER",
                'CMD ["fastfn", "serve", "main:app"]')

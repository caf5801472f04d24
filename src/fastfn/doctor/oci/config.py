"""Function configuration size and the timeout against what callers wait for."""

from __future__ import annotations

import json

from fastfn.doctor.findings import Finding, fail, ok, skip, warn
from fastfn.doctor.oci.facts import Facts

SIZE, TIMEOUT = "config.size", "config.timeout"
MAX_CONFIG_BYTES = 4096
SDK_READ_TIMEOUT_S = 60  # the oci SDK's and CLI's default read timeout


def check(facts: Facts) -> list[Finding]:
    fn = facts.function
    if fn is None:
        return [skip(SIZE, "the function could not be read")]
    out = []
    config = dict(fn.config or {})
    app_config = dict(getattr(facts.application, "config", None) or {})
    for what, values in (("function", config), ("application", app_config)):
        size = len(json.dumps(values, ensure_ascii=False).encode())
        if size > MAX_CONFIG_BYTES:
            biggest = max(values, key=lambda k: len(str(values[k])))
            out.append(fail(SIZE, f"{what} config is {size} bytes, over OCI's "
                                  f"{MAX_CONFIG_BYTES}; largest key {biggest}",
                            f"move {biggest} to a Vault secret and reference it: fastfn.yaml "
                            f"secrets: {{{biggest}: vault:<secret ocid>}}"))
        elif values or what == "function":
            out.append(ok(SIZE, f"{what} config is {size} of {MAX_CONFIG_BYTES} bytes"))
    timeout = fn.timeout_in_seconds
    expected = facts.service.expected_timeout if facts.service else None
    if expected is not None and expected != timeout:
        out.append(warn(TIMEOUT, f"the function's timeout is {timeout} s, the manifest says "
                                 f"{expected} s", "fastfn deploy (or: oci fn function update "
                                 f"--function-id {facts.function_id} --timeout-in-seconds "
                                 f"{expected})"))
    if timeout and timeout > SDK_READ_TIMEOUT_S:
        out.append(warn(TIMEOUT, f"the function may run {timeout} s, but oci SDK/CLI callers "
                                 f"give up after their default {SDK_READ_TIMEOUT_S} s read "
                                 "timeout (the call goes on, the caller sees a timeout)",
                        f"oci fn function invoke --read-timeout {timeout + 5} ...; in code: "
                        f"FunctionsInvokeClient(config, timeout=(10, {timeout + 5}))"))
    elif timeout:
        out.append(ok(TIMEOUT, f"timeout {timeout} s is within callers' default "
                               f"{SDK_READ_TIMEOUT_S} s read timeout"))
    return out

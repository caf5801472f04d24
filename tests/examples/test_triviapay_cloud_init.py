"""The cloud-init of seed 002's instance configuration, run for real where it can be: the
rendered cloud-config parses, its boot script passes shellcheck and refuses a PORT other
than backend_port, and its logrotate policy (the runtime test's) rotates a log written by
a WatchedFileHandler with Debian's logrotate without losing a line."""

from __future__ import annotations

import ast
import grp
import json
import logging
import logging.handlers
import os
import pwd
import re
import shutil
import threading
import time
from pathlib import Path

import yaml

from support.infra import INFRA, REPO, run


def render_cloud_init(backend_port: int = 8000,
                      app_log_path: str = "/var/log/triviapay/app.log") -> str:
    """templatefile() for the template's own few interpolations; anything else left in it
    is an interpolation this renderer (and the test) does not know, so it fails."""
    text = (INFRA / "templates" / "cloud-init.yaml.tftpl").read_text()
    logrotate = (INFRA / "templates" / "logrotate.conf").read_text()
    text = text.replace("$${", "\0")
    text = text.replace("${indent(6, logrotate)}",
                        logrotate.rstrip("\n").replace("\n", "\n      "))
    text = text.replace("${backend_port}", str(backend_port))
    text = text.replace("${app_log_path}", app_log_path)
    assert "${" not in text and "%{" not in text, "unknown template interpolation"
    return text.replace("\0", "${")


def cloud_init_files() -> dict[str, str]:
    rendered = render_cloud_init()
    assert rendered.startswith("#cloud-config\n")
    doc = yaml.safe_load(rendered)
    return {entry["path"]: entry["content"] for entry in doc["write_files"]}


def test_cloud_init_is_valid_and_its_boot_script_passes_shellcheck(tmp_path: Path) -> None:
    rendered = yaml.safe_load(render_cloud_init())
    assert any("triviapay.service" in " ".join(map(str, cmd)) for cmd in rendered["runcmd"])
    files = cloud_init_files()
    boot = files["/usr/local/sbin/triviapay-boot"]
    assert 'echo "PORT=8000" >> /etc/triviapay.env' in boot  # PORT set when missing
    assert "install -d -m 0755 -o 10001 -g 10001" in boot  # the log dir for uid 10001
    assert "> /etc/logrotate.d/triviapay" in boot
    script = tmp_path / "triviapay-boot"
    script.write_text(boot)
    assert run(["bash", "-n", script]).returncode == 0
    shellcheck = shutil.which("shellcheck")
    assert shellcheck, "shellcheck is installed by scripts/setup.sh"
    result = run([shellcheck, "-s", "bash", script])
    assert result.returncode == 0, result.stdout


def test_boot_script_refuses_a_port_that_differs_from_backend_port(tmp_path: Path) -> None:
    # The boot script's port guard, run for real with the instance's tools replaced by
    # stand-ins for what only exists on OCI (IMDS, Vault, docker).
    boot = cloud_init_files()["/usr/local/sbin/triviapay-boot"]
    env_file = tmp_path / "triviapay.env"
    boot = boot.replace("/etc/triviapay.env", str(env_file))
    boot, found = re.subn(r"\nimds\(\) \{.*?\n\}\nsecret\(\) \{.*?\n\}\n", "\n", boot,
                          flags=re.S)
    assert found == 1
    boot = boot.replace("set -euo pipefail", "set -euo pipefail\n"
                        "imds() { echo x; }\nsecret() { printf 'PORT=9000\\n'; }", 1)
    script = tmp_path / "boot"
    script.write_text(boot)
    result = run(["bash", script])
    assert result.returncode == 1
    assert "PORT=9000 in the app env differs from backend_port 8000" in result.stderr


def runtime_test_policy() -> list[str]:
    """The directives of the policy tests/runtime/http/test_http_server.py rotates with."""
    source = (REPO / "tests" / "runtime" / "http" / "test_http_server.py").read_text()
    for node in ast.walk(ast.parse(source)):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr == "write_text" and isinstance(node.func.value, ast.Name)
                and node.func.value.id == "conf"):
            (arg,) = node.args
            parts = [p.value for p in ast.walk(arg)
                     if isinstance(p, ast.Constant) and isinstance(p.value, str)]
            lines = [line.strip() for line in "".join(parts).splitlines()]
            return [line for line in lines if line and "{" not in line and "}" not in line]
    raise AssertionError("the runtime logrotate test's policy was not found")


def test_logrotate_policy_is_the_runtime_tests_and_loses_no_line(tmp_path: Path) -> None:
    logrotate = shutil.which("logrotate") or "/usr/sbin/logrotate"
    assert Path(logrotate).exists(), "Debian's logrotate is installed by scripts/setup.sh"
    template = cloud_init_files()["/etc/triviapay/logrotate.conf.in"]
    ours = [line.strip() for line in template.splitlines()
            if line.strip() and not line.strip().startswith("#")]
    theirs = runtime_test_policy()
    assert "rotate 50" in theirs and "create 0644" in theirs
    for directive in theirs:  # the same policy, ours adding the owner and the schedule
        assert any(line == directive or line.startswith(directive + " ") for line in ours), \
            directive
    assert not any(line.startswith("copytruncate") for line in ours)
    assert "create 0644 triviapay triviapay" in ours
    # logrotate resolves owners by name: the boot script gives uid/gid 10001 that name.
    boot = cloud_init_files()["/usr/local/sbin/triviapay-boot"]
    assert "groupadd --system --gid 10001 triviapay" in boot
    assert "useradd --system --uid 10001 --gid 10001" in boot
    assert boot.index("useradd") < boot.index("/etc/logrotate.d/triviapay")

    log_dir = tmp_path / "log"
    log_dir.mkdir()
    app_log = log_dir / "app.log"
    policy = template.replace("@APP_LOG_PATH@", str(app_log))
    # This machine has no user triviapay: the new file goes to the test's own user.
    me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
    policy = policy.replace("triviapay triviapay", f"{me} {group}")
    conf = tmp_path / "triviapay"
    conf.write_text(policy)
    conf.chmod(0o644)
    state = tmp_path / "state"

    handler = logging.handlers.WatchedFileHandler(app_log)  # seed 002's handler design
    logger = logging.Logger("triviapay-rotation")
    logger.addHandler(handler)
    total = 4000
    done = threading.Event()

    def write() -> None:
        for i in range(total):
            logger.info(json.dumps({"n": i}))
            if i % 200 == 0:
                time.sleep(0.01)
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    rotations = 0
    # At most 20 rotations: `rotate 50` deletes the oldest file past 50, a loss by design.
    while (not done.is_set() and rotations < 20) or rotations < 3:
        result = run([logrotate, "-f", "-s", state, conf])
        assert result.returncode == 0, result.stderr
        rotations += 1
        time.sleep(0.05)
    writer.join()
    handler.close()
    seen = [json.loads(line)["n"] for path in log_dir.iterdir()
            for line in path.read_text().splitlines()]
    assert sorted(seen) == list(range(total))  # none lost, none twice
    assert len(list(log_dir.iterdir())) >= 3
    stat = app_log.stat()
    assert oct(stat.st_mode & 0o777) == "0o644"
    assert (stat.st_uid, stat.st_gid) == (os.getuid(), os.getgid())

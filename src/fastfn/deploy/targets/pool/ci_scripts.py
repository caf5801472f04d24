"""The Python the pool workflows run inline (each a `python - <<'EOF'` body), and the
OIDC session-token step both workflows start with.

Every value reaches them through the environment, never through `${{ }}` in the script;
secret values are never printed.
"""

from __future__ import annotations

from fastfn.deploy.ci_github import TOKEN_EXCHANGE, _indent

# Reads the Terraform state object with the session token, fails naming every missing
# output, hands the ids the job needs to later steps, and puts the pool's current (soon
# previous) instance configuration in the job summary before anything changes.
STATE_OUTPUTS = r'''
import json, os, sys
import oci

config = oci.config.from_file(os.environ.get("OCI_CONFIG_FILE", "~/.oci/config"))
signing = {}  # an API key profile signs by itself
if config.get("security_token_file"):  # the session token from the OIDC exchange
    token = open(config["security_token_file"]).read().strip()
    signing["signer"] = oci.auth.signers.SecurityTokenSigner(
        token, oci.signer.load_private_key_from_file(config["key_file"]))
state_config = dict(config, region=os.environ.get("STATE_REGION") or config["region"])
storage = oci.object_storage.ObjectStorageClient(state_config, **signing)
print("OCI auth verified: namespace", storage.get_namespace().data, flush=True)
namespace, bucket, key = (os.environ["STATE_NAMESPACE"], os.environ["STATE_BUCKET"],
                          os.environ["STATE_KEY"])
where = f"oci://{bucket}@{namespace}/{key}"
try:
    state = json.loads(storage.get_object(namespace, bucket, key).data.content)
except oci.exceptions.ServiceError as exc:
    sys.exit(f"cannot read the Terraform state {where}: {exc.status} {exc.code}")
except ValueError:
    sys.exit(f"Terraform state {where} is not a JSON state document")
raw = state.get("outputs") if isinstance(state, dict) else None
outputs = {name: entry.get("value") for name, entry in (raw or {}).items()
           if isinstance(entry, dict)}
required = os.environ["REQUIRED_OUTPUTS"].split()
missing = [name for name in required if outputs.get(name) in (None, "")]
if missing:
    sys.exit(f"Terraform state {where} lacks output(s) {', '.join(missing)}: "
             "run `terraform apply` on the infra module first")
with open(os.environ["GITHUB_OUTPUT"], "a") as out:
    for name in required:
        out.write(f"{name}={outputs[name]}\n")
    pool = oci.core.ComputeManagementClient(config, **signing).get_instance_pool(
        outputs["instance_pool_id"]).data
    out.write(f"previous_instance_configuration_id={pool.instance_configuration_id}\n")
with open(os.environ["GITHUB_STEP_SUMMARY"], "a") as summary:
    summary.write(
        f"### Before this deploy ({os.environ['DEPLOY_ENV']})\n\n"
        f"- instance pool: `{pool.id}` (size {pool.size})\n"
        f"- previous instance configuration: `{pool.instance_configuration_id}`\n"
        f"- backend port: `{outputs['backend_port']}`\n\n"
        "One-step rollback: `fastfn rollback` (or point the pool back at the previous "
        "instance configuration).\n")
'''

# The plan is written to a file and never printed; this scan fails the job when a
# secret's content is not the placeholder, or when any planned value (user_data decoded)
# holds a private key or a URL with a password, naming the resources only.
PLAN_SCAN = r'''
import base64, binascii, json, os, re, sys

placeholder = base64.b64encode(b"CHANGEME").decode()
leak = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")
plan = json.load(open(os.environ["PLAN_JSON"]))
bad, seen = set(), 0

def strings(node, key=""):
    if isinstance(node, dict):
        for k, value in node.items():
            yield from strings(value, k)
    elif isinstance(node, list):
        for item in node:
            yield from strings(item, key)
    elif isinstance(node, str):
        yield key, node

for change in plan.get("resource_changes", []):
    after = (change.get("change") or {}).get("after") or {}
    for key, value in strings(after):
        if key == "user_data":
            try:
                value = base64.b64decode(value).decode("utf-8", "replace")
            except (binascii.Error, ValueError):
                pass
        if leak.search(value):
            bad.add(change["address"])
    if change.get("type") == "oci_vault_secret":
        for key, value in strings(after.get("secret_content")):
            if key == "content":
                seen += 1
                if value != placeholder:
                    bad.add(change["address"])
if bad:
    sys.exit("plan carries secret content that is not the placeholder in: "
             + ", ".join(sorted(bad)))
print(f"plan secret scan: {seen} secret content value(s), all the CHANGEME placeholder")
'''

AUDIENCE = "vars.OCI_WIF_AUDIENCE || format('https://github.com/{0}', github.repository)"


def session_step() -> str:
    return f"""\
- name: OCI session token from this job's OIDC token (no stored API key)
  env:
    OCI_DOMAIN_URL: ${{{{ vars.OCI_WIF_DOMAIN_BASE_URL }}}}
    OCI_CLIENT_ID: ${{{{ vars.OCI_WIF_CLIENT_IDENTIFIER }}}}
    OCI_AUDIENCE: ${{{{ {AUDIENCE} }}}}
    OCI_TENANCY_ID: ${{{{ vars.OCI_TENANCY_OCID }}}}
    OCI_REGION: ${{{{ vars.OCI_REGION }}}}
  run: |
    python - <<'EOF'
{_indent(TOKEN_EXCHANGE, 4)}
    EOF
"""

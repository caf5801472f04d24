"""What policy enforcement costs a request: the same GetObject through the real oci SDK
on two local clouds loaded with the same tenancy (a user in a group, 40 policy statements,
the one that matters narrowed by bucket name), one enforcing, one not. Rounds alternate
between the two so machine load hits both alike; prints medians and the ratio.

    .venv/bin/python bench/authz_overhead.py [--calls 200] [--rounds 5]

Also the evaluation alone (PolicySet.authorize, in-process), per call.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import oci

from fastfn.localcloud.oci import LocalCloud
from fastfn.localcloud.oci.core.auth import fingerprint, generate_key, private_pem, public_pem


def tenancy(public_key: str) -> str:
    noise = "\n".join(f"      - Allow group other{i} to manage objects in compartment local"
                      for i in range(38))
    return f"""
tenancy: {{name: bench}}
users:
  - {{name: dev, api_keys: [{json.dumps(public_key)}]}}
groups:
  - {{name: devs, members: [dev]}}
policies:
  - name: bench
    compartment: local
    statements:
{noise}
      - Allow group devs to inspect buckets in compartment local
      - Allow group devs to read objects in compartment local where target.bucket.name = 'b'
"""


def per_call(cloud: LocalCloud, config: dict[str, str], calls: int) -> float:
    client = oci.object_storage.ObjectStorageClient(config, service_endpoint=cloud.endpoint)
    client.get_object(cloud.namespace, "b", "o")  # warm: connection, first-call imports
    start = time.perf_counter()
    for _ in range(calls):
        client.get_object(cloud.namespace, "b", "o")
    return (time.perf_counter() - start) / calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="fastfn-bench-authz-"))
    key = generate_key()
    (root / "dev.pem").write_bytes(private_pem(key))
    (root / "tenancy.yaml").write_text(tenancy(public_pem(key.public_key()).decode()))
    clouds = {name: LocalCloud(root / name, tenancy_file=root / "tenancy.yaml",
                               enforce=(name == "enforcing")).start()
              for name in ("open", "enforcing")}
    try:
        configs = {}
        for name, cloud in clouds.items():
            admin = cloud.client(oci.object_storage.ObjectStorageClient)
            admin.create_bucket(cloud.namespace, oci.object_storage.models.CreateBucketDetails(
                name="b", compartment_id=cloud.compartment_id))
            admin.put_object(cloud.namespace, "b", "o", b"x" * 1024)
            dev = next(u for u in cloud.client(oci.identity.IdentityClient).list_users(
                cloud.tenancy_id).data if u.name == "dev")
            configs[name] = {**cloud.config, "user": dev.id, "key_file": str(root / "dev.pem"),
                             "fingerprint": fingerprint(key.public_key())}
        samples: dict[str, list[float]] = {name: [] for name in clouds}
        for _ in range(args.rounds):
            for name, cloud in clouds.items():
                samples[name].append(per_call(cloud, configs[name], args.calls))
        open_ms = statistics.median(samples["open"]) * 1000
        enforcing_ms = statistics.median(samples["enforcing"]) * 1000
        print(f"GetObject via the SDK, median of {args.rounds} rounds x {args.calls} calls:")
        print(f"  open      {open_ms:7.3f} ms/call")
        print(f"  enforcing {enforcing_ms:7.3f} ms/call   ratio {enforcing_ms / open_ms:.3f}")
        services = clouds["enforcing"].services
        assert services is not None and services.authorizer.identities is not None
        from fastfn.iam.evaluate import Request, UserPrincipal

        policies = services.authorizer.identities.policies
        principal = UserPrincipal(configs["enforcing"]["user"], ("devs",))
        request = Request("GetObject", ("OBJECT_READ",), services.identity.compartment_id,
                          {"target.bucket.name": "b"})
        n = 20000
        start = time.perf_counter()
        for _ in range(n):
            policies.authorize(principal, request)
        print(f"  evaluation alone: {(time.perf_counter() - start) / n * 1e6:.1f} us/call "
              "(40 statements)")
    finally:
        for cloud in clouds.values():
            cloud.stop()


if __name__ == "__main__":
    main()

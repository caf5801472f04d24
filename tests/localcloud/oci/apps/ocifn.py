"""A function for the local OCI cloud tests: it uses the oci SDK the way service code does.

Direct invokes go to POST /invoke (FASTFN_DEFAULT_ROUTE) and dispatch on the body's "op";
events go to POST /events (FASTFN_EVENT_ROUTE), are recorded in MARKER_DIR, and fail
(unhandled exception: outer 502) for the first FAIL_EVENTS deliveries; an object named
bad* is refused in seed 003's error shape (app status 400, category ParseError), with a
warning log line and a plain stdout line.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

app = FastAPI()


def markers() -> Path:
    return Path(os.environ["MARKER_DIR"])


@app.post("/invoke")
async def invoke(request: Request) -> dict:
    body = await request.json()
    op = body.get("op")
    if op == "echo":
        return {"body": body, "greeting": os.environ.get("GREETING"),
                "fn_id": os.environ.get("FN_FN_ID"),
                "content_type": request.headers.get("content-type")}
    if op == "resource-principal":
        # Unmodified service code: default endpoints, resource principal signer.
        import oci

        signer = oci.auth.signers.get_resource_principals_signer()
        storage = oci.object_storage.ObjectStorageClient({}, signer=signer)
        namespace = storage.get_namespace().data
        obj = storage.get_object(namespace, body["bucket"], body["object"])
        secrets = oci.secrets.SecretsClient({}, signer=signer)
        bundle = secrets.get_secret_bundle(body["secret_id"]).data
        return {
            "object": obj.data.content.decode(),
            "secret": base64.b64decode(bundle.secret_bundle_content.content).decode(),
            "url": obj.request.url,
            "tenancy": signer.tenancy_id,
        }
    return {"error": f"unknown op {op!r}"}


@app.post("/events", response_model=None)
async def events(request: Request) -> dict | JSONResponse:
    raw = await request.body()
    name = (json.loads(raw).get("data") or {}).get("resourceName", "")
    if name.startswith("bad"):
        print(f"looking at {name}", flush=True)
        logging.getLogger("ocifn").warning("not a report: %s", name)
        return JSONResponse({"status": "error", "category": "ParseError",
                             "message": f"{name} is not a report", "object_name": name},
                            status_code=400)
    seen = sorted(markers().glob("event-*.json"))
    attempt = len(seen) + 1
    (markers() / f"event-{attempt:03d}.json").write_text(json.dumps({
        "event": json.loads(raw),
        "content_type": request.headers.get("content-type"),
    }))
    if attempt <= int(os.environ.get("FAIL_EVENTS", "0")):
        raise RuntimeError(f"failing delivery attempt {attempt} on purpose")
    return {"ok": True}

"""Seed 003: mail each usage report uploaded to a bucket, with the report attached.

OCI Events calls the function with `Fn-Intent: cloudevent`; the fastfn runtime routes
that to FASTFN_EVENT_ROUTE (`POST /events`, written by fastfn.yaml's event_route).
The phases live in mailer/ (one module each); mailer/pipeline.py wires them.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from mailer.errors import Redeliver
from mailer.pipeline import handle

app = FastAPI(title="usage-report-mailer", docs_url=None, redoc_url=None)


@app.post("/events")
async def on_event(request: Request) -> JSONResponse:
    outcome = await handle(await request.body())
    if outcome.redeliver:
        # An outer 502: OCI Events retries the delivery (see mailer/errors.py).
        raise Redeliver(outcome.body.message)
    return JSONResponse(outcome.body.model_dump(exclude_none=False),
                        status_code=outcome.status)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}

"""A function for the crash tests: each event delivery (POST /events) writes a `started-`
marker, takes SLEEP_S seconds, then writes a `done-` marker naming the object's ETag.
A delivery whose instance dies in between leaves only its `started-` marker."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path

from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/events")
async def events(request: Request) -> dict:
    event = json.loads(await request.body())
    markers = Path(os.environ["MARKER_DIR"])
    etag = event["data"]["additionalDetails"]["eTag"]
    call = uuid.uuid4().hex
    (markers / f"started-{etag}-{call}").write_text(event["eventID"])
    await asyncio.sleep(float(os.environ.get("SLEEP_S", "0")))
    (markers / f"done-{etag}-{call}").write_text(event["eventID"])
    return {"ok": True}

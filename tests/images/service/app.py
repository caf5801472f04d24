"""A plain ASGI app: answers every request with its method and path."""

import json


async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = json.dumps({"method": scope["method"], "path": scope["path"]}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})

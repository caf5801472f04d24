"""The GitHub digest service (seed 004), a FastAPI app that runs unchanged on AWS Lambda.

- Every route needs the API key: the header named by `FAST_API__AUTH__API_KEY__NAME`
  (config, default `x-api-key`) must equal the secret `FAST_API__AUTH__API_KEY__VALUE`
  (a reference: `ssm:/github-digest/<stage>/api-key` on AWS, `env:...` locally), compared
  in constant time. Without it, or with a wrong one: 401. The key is never logged.
- `GET /info/version`: the service's version.
- `GET /github-api/rate-limit`: GitHub's rate limit for this service, through the
  injectable GitHub client (`create_app(github=...)`; `GITHUB_API_URL` in config).
- `GET /github-api/repos/{owner}/{repo}/digest`: a short digest of a repository.
"""

from __future__ import annotations

import hmac
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from github_api import GitHubClient, GitHubError

from fastfn.runtime.secrets import Secret, install_log_redaction, resolve_env

VERSION = "v0.4.0"
DEFAULT_KEY_HEADER = "x-api-key"
KEY_ENV = "FAST_API__AUTH__API_KEY__VALUE"
log = logging.getLogger("github_digest")


def create_app(github: GitHubClient | None = None, api_key: Secret | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict]:
        install_log_redaction()
        key = api_key if api_key is not None else resolve_env(KEY_ENV)
        client = github or GitHubClient(os.environ.get("GITHUB_API_URL",
                                                       "https://api.github.com"),
                                        token=_optional_secret("GITHUB_TOKEN"))
        try:
            yield {"api_key": key, "github": client}
        finally:
            if github is None:
                await client.aclose()

    app = FastAPI(title="github-digest", version=VERSION, lifespan=lifespan)
    header = os.environ.get("FAST_API__AUTH__API_KEY__NAME", DEFAULT_KEY_HEADER).lower()

    @app.middleware("http")
    async def require_api_key(request: Request, call_next):  # type: ignore[no-untyped-def]
        given = request.headers.get(header, "")
        expected: Secret = request.state.api_key
        if not hmac.compare_digest(given.encode(), expected.reveal().encode()):
            log.warning("request refused: missing or wrong %s header on %s %s", header,
                        request.method, request.url.path)
            return JSONResponse({"detail": f"missing or wrong {header} header"}, status_code=401)
        return await call_next(request)

    @app.get("/info/version")
    async def version() -> dict:
        return {"version": VERSION}

    @app.get("/github-api/rate-limit")
    async def rate_limit(request: Request) -> JSONResponse:
        client: GitHubClient = request.state.github
        try:
            core = await client.rate_limit()
        except GitHubError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=502)
        return JSONResponse({"limit": core["limit"], "remaining": core["remaining"],
                             "reset": core["reset"]})

    @app.get("/github-api/repos/{owner}/{repo}/digest")
    async def digest(owner: str, repo: str, request: Request) -> JSONResponse:
        client: GitHubClient = request.state.github
        try:
            return JSONResponse(await client.digest(owner, repo))
        except GitHubError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=exc.status)

    return app


def _optional_secret(name: str) -> Secret | None:
    return resolve_env(name) if os.environ.get(name) else None


app = create_app()

"""A small GitHub REST client (httpx), injectable so that tests point it at a local
server. Timeouts are short: a Lambda invoke should not wait on GitHub for long."""

from __future__ import annotations

import re

import httpx

from fastfn.runtime.secrets import Secret

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class GitHubError(Exception):
    def __init__(self, message: str, status: int = 502) -> None:
        super().__init__(message)
        self.status = status


class GitHubClient:
    def __init__(self, base_url: str, token: Secret | None = None,
                 transport: httpx.AsyncBaseTransport | None = None,
                 timeout_s: float = 5.0) -> None:
        headers = {"Accept": "application/vnd.github+json",
                   "User-Agent": "github-digest", "X-GitHub-Api-Version": "2022-11-28"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.reveal()}"
        self._client = httpx.AsyncClient(base_url=base_url.rstrip("/"), headers=headers,
                                         timeout=timeout_s, transport=transport)

    async def _get(self, path: str, **params: object) -> object:
        try:
            response = await self._client.get(path, params=params or None)
        except httpx.HTTPError as exc:
            raise GitHubError(f"GitHub unreachable: {type(exc).__name__}") from None
        if response.status_code == 404:
            raise GitHubError("not found on GitHub", 404)
        if response.status_code >= 400:
            raise GitHubError(f"GitHub answered {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise GitHubError("GitHub answered something that is not JSON") from None

    async def rate_limit(self) -> dict:
        got = await self._get("/rate_limit")
        if not isinstance(got, dict) or not isinstance(got.get("resources"), dict):
            raise GitHubError("unexpected rate_limit answer")
        core = got["resources"].get("core")
        if not isinstance(core, dict):
            raise GitHubError("unexpected rate_limit answer")
        return core

    async def digest(self, owner: str, repo: str) -> dict:
        for value, field in ((owner, "owner"), (repo, "repo")):
            if not _NAME.match(value):
                raise GitHubError(f"{field}: letters, digits, '_', '.', '-' only", 422)
        info = await self._get(f"/repos/{owner}/{repo}")
        commits = await self._get(f"/repos/{owner}/{repo}/commits", per_page=5)
        if not isinstance(info, dict) or not isinstance(commits, list):
            raise GitHubError("unexpected repository answer")
        return {
            "repo": f"{owner}/{repo}",
            "description": info.get("description"),
            "stars": info.get("stargazers_count"),
            "open_issues": info.get("open_issues_count"),
            "default_branch": info.get("default_branch"),
            "recent_commits": [
                {"sha": str(c.get("sha", ""))[:7],
                 "message": str((c.get("commit") or {}).get("message", "")).split("\n")[0]}
                for c in commits if isinstance(c, dict)],
        }

    async def aclose(self) -> None:
        await self._client.aclose()

"""Where calls without a method and path go: direct invokes and events.

A platform's direct invoke (`oci fn function invoke`, `aws lambda invoke` with a plain JSON
payload) and its event deliveries carry a body but no HTTP method or path. The function's
configuration names the app route each goes to, the same on every target:
`FASTFN_DEFAULT_ROUTE` (e.g. `POST /items`), `FASTFN_EVENT_ROUTE`, and `FASTFN_ROOT_PATH`
(an API gateway deployment's path prefix, which becomes the ASGI `root_path`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

ENV_DEFAULT_ROUTE = "FASTFN_DEFAULT_ROUTE"
ENV_EVENT_ROUTE = "FASTFN_EVENT_ROUTE"
ENV_ROOT_PATH = "FASTFN_ROOT_PATH"


class RouteError(ValueError):
    pass


class Route:
    __slots__ = ("method", "path")

    def __init__(self, method: str, path: str) -> None:
        self.method = method
        self.path = path  # may include a query string

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Route) and (self.method, self.path) == (other.method,
                                                                         other.path)

    def __hash__(self) -> int:
        return hash((self.method, self.path))

    def __repr__(self) -> str:
        return f"Route({self.method!r}, {self.path!r})"

    @classmethod
    def parse(cls, value: str, key: str) -> Route:
        parts = value.split()
        if len(parts) == 1 and parts[0].startswith("/"):
            return cls("POST", parts[0])
        if len(parts) != 2 or not parts[1].startswith("/"):
            raise RouteError(f"{key} must look like 'POST /items', got {value!r}")
        return cls(parts[0].upper(), parts[1])


class RouteConfig:
    """The routes and path prefix the function's configuration (environment) names."""

    __slots__ = ("default_route", "event_route", "root_path")

    def __init__(self, default_route: Route | None = None, event_route: Route | None = None,
                 root_path: str = "") -> None:
        self.default_route = default_route
        self.event_route = event_route
        self.root_path = root_path

    @staticmethod
    def routes_from_env(env: Mapping[str, str]) -> dict[str, object]:
        default = env.get(ENV_DEFAULT_ROUTE)
        event = env.get(ENV_EVENT_ROUTE)
        return {
            "default_route": Route.parse(default, ENV_DEFAULT_ROUTE) if default else None,
            "event_route": Route.parse(event, ENV_EVENT_ROUTE) if event else None,
            "root_path": env.get(ENV_ROOT_PATH, "").rstrip("/"),
        }

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RouteConfig:
        return cls(**cls.routes_from_env(os.environ if env is None else env))  # type: ignore[arg-type]

    def route_for(self, is_event: bool) -> Route | None:
        """The route of a call without method and path: an event's, else the default."""
        route = self.event_route if is_event else None
        return route or self.default_route

    @staticmethod
    def missing_route_error(is_event: bool, what: str | None = None) -> str:
        what = what or ("an event" if is_event else "a direct invoke")
        key = ENV_EVENT_ROUTE if is_event else ENV_DEFAULT_ROUTE
        return f"{what} has no method or path and no {key} is configured"

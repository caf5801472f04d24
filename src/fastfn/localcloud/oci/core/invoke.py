"""How services that trigger functions (Events) reach them without importing Functions."""

from __future__ import annotations

from typing import Any, Protocol


class InvokeFailure(Exception):
    """The platform could not run a function (not found, image missing, timeout...)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class Invoker(Protocol):
    async def run(self, fn_id: str, body: bytes, headers: list[tuple[str, str]],
                  timeout_s: float | None = None) -> Any:
        """Invoke a function synchronously; raises InvokeFailure for platform errors."""
        ...

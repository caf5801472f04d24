"""The items example as the tests run it."""

from __future__ import annotations

from pathlib import Path

from fastfn.localcloud.fn.platform import FunctionSpec
from fastfn.localcloud.fn.service import function_spec
from fastfn.manifest import load

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def items_function(database_url: str, **config: str) -> FunctionSpec:
    service = EXAMPLES / "items"
    fn = load(service).resolve()
    return function_spec(service, fn, app_name="items-test",
                         extra_config={"ITEMS_DATABASE_URL": database_url, **config})

"""The Lambda entry point `fastfn.runtime.aws.handler.handler` for the app that
`FASTFN_APP` names. Importing this module is the environment's init: the app is imported
and its lifespan started here, once."""

from __future__ import annotations

import os

from fastfn.runtime.aws import make_handler

_spec = os.environ.get("FASTFN_APP", "")
if not _spec:
    raise RuntimeError("FASTFN_APP is not set: it must name the ASGI app as 'module:attribute'")

handler = make_handler(_spec)

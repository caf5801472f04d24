"""AWS Lambda: an unchanged ASGI app as a Lambda function.

Either set the function's handler to `fastfn.runtime.aws.handler.handler` with
`FASTFN_APP=module:attribute`, or in the app's module:

    from fastfn.runtime.aws import make_handler
    handler = make_handler(app)          # or make_handler("main:app")

and set the handler to `main.handler`. Nothing here imports boto3.
"""

from __future__ import annotations

from typing import Any


def make_handler(app: Any, app_dir: str | None = None) -> Any:
    """The Lambda handler for `app` (an ASGI app or a 'module:attribute' spec); starts
    the app's lifespan now, which is the environment's init when called at import."""
    import os

    from fastfn.runtime.app import import_app
    from fastfn.runtime.aws.runtime import LambdaRuntime, install_sigterm

    if isinstance(app, str):
        app = import_app(app, app_dir or os.environ.get("LAMBDA_TASK_ROOT", "."))
    runtime = LambdaRuntime(app)
    install_sigterm(runtime)
    return runtime

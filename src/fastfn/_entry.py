"""Console entry point.

`fastfn serve` is a container's CMD, so it must not pay for typer, rich or pydantic:
it is dispatched here before the CLI package is imported.
"""

from __future__ import annotations

import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv and argv[0] == "serve" and not {"-h", "--help"} & set(argv):
        from fastfn.runtime.serve import main as serve_main

        sys.exit(serve_main(argv[1:]))
    from fastfn.cli import app

    app()


if __name__ == "__main__":
    main()

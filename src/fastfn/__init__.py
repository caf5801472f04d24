"""fastfn: one FastAPI/ASGI app on OCI Functions, AWS Lambda and instance pools.

This module stays import-light: a function container's cold start pays for it.
"""

__version__ = "0.1.0"

"""The ASGI side every platform shares: building a request scope, running one buffered
HTTP call with a deadline and failure mapping, and the app's lifespan once per container
or execution environment. Each platform (Fn server, Lambda handler, VM HTTP server) only
translates its own wire format to and from these."""

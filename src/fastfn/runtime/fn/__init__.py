"""The Fn http-stream contract (OCI Functions): socket handshake, call translation, server."""

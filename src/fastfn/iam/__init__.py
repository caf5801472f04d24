"""OCI policy language: parse statements and matching rules, the permission catalog, and
request evaluation. Shared by the local cloud (enforcement) and the doctor (lint)."""

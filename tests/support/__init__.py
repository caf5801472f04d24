"""Helpers shared by the tests (and the benches): one module per area."""

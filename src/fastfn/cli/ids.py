"""Short OCIDs for 80-column tables: `ocid1.fnfunc…a1b2c3`.

A real OCID is `ocid1.<type>.<realm>.<region>.<60 characters>`, about 90 characters: one
per table cell wraps over several lines at 80 columns. Tables show the type and the last
six characters (enough to tell a stage's resources apart); `--json` keeps the full value.
"""

from __future__ import annotations

import re

# type, then realm, region and future-use parts (any may be empty), then the unique part
# (not empty: a sentence's full stop after an OCID is not part of it).
OCID = re.compile(r"\bocid1\.([a-z0-9_-]+)((?:\.[a-z0-9_-]*)*\.[a-z0-9_-]+)")
TAIL = 6
ELLIPSIS = "\u2026"


def short_ocid(ocid: str) -> str:
    """The OCID's type and last characters; anything that is not a long OCID unchanged."""
    match = OCID.fullmatch(ocid)
    if match is None:
        return ocid
    return _shorten(match)


def shorten_ocids(text: str) -> str:
    """Every OCID inside `text` (a message, `key=value` details) shortened."""
    return OCID.sub(_shorten, text) if "ocid1." in text else text


def _shorten(match: re.Match[str]) -> str:
    kind, rest = match.group(1), match.group(2)
    unique = rest.rsplit(".", 1)[-1]
    short = f"ocid1.{kind}{ELLIPSIS}{unique[-TAIL:]}"
    return short if len(short) < len(match.group(0)) else match.group(0)

"""The part of the Logging query language the local cloud answers; anything else is a 400
naming what is not supported.

    search "<compartment>[/<log group>[/<log>]]" (, "<stream>")*   groups and logs by OCID
                                                                   or name; a log group's
                                                                   OCID alone also works
      | where <field> (= | !=) <literal> [and|or ...]              not, parentheses
      | sort by <field> [asc|desc] [, ...]

Fields are dotted paths into a record's logContent (`data.message`, `subject`,
`oracle.logid`) or `datetime`; `logId`, `logGroupId` and `compartmentId` are the
`oracle.*` ids. Literals are 'single' or "double" quoted strings, or numbers; `=` compares
exactly (no wildcards).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastfn.localcloud.oci.core.errors import invalid

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*'|"(?:[^"]|"")*")
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<op>!=|>=|<=|=|>|<|\||,|\(|\))
  | (?P<word>[A-Za-z_$][A-Za-z_0-9$]*(?:\.[A-Za-z_$][A-Za-z_0-9$]*)*)
)""", re.X)
_ALIASES = {"logid": "oracle.logid", "loggroupid": "oracle.loggroupid",
            "compartmentid": "oracle.compartmentid", "tenantid": "oracle.tenantid"}
MAX_TERMS = 100

Record = dict[str, Any]
Predicate = Callable[[Record], bool]


@dataclass
class Query:
    streams: list[list[str]]
    where: list[Predicate] = field(default_factory=list)
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)


def unsupported(what: str) -> Exception:
    return invalid(f"searchQuery: {what} is not supported by the local cloud (it answers "
                   "search, where with = and !=, and sort by).")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise invalid(f"searchQuery: cannot parse at column {pos + 1}: "
                          f"{text[pos:pos + 20]!r}")
        kind = match.lastgroup or ""
        out.append((kind, match.group(kind)))
        pos = match.end()
    return out


def _unquote(token: str) -> str:
    quote = token[0]
    return token[1:-1].replace(quote * 2, quote)


def value_of(record: Record, path: str) -> Any:
    """A field of a record: `datetime`, or a path into logContent (case-insensitive)."""
    lowered = path.lower()
    if lowered == "datetime":
        return record.get("datetime")
    path = _ALIASES.get(lowered, path)
    if path.lower().startswith("logcontent."):
        path = path[len("logcontent."):]
    current: Any = record.get("logContent")
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        found = next((k for k in current if k.lower() == part.lower()), None)
        current = current.get(found) if found is not None else None
    return current


def _equal(actual: Any, wanted: str | float) -> bool:
    if isinstance(wanted, float):
        return isinstance(actual, int | float) and not isinstance(actual, bool) \
            and float(actual) == wanted
    return actual is not None and str(actual) == wanted


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.terms = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise invalid("searchQuery: the query ends too early.")
        self.at += 1
        return token

    def keyword(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token[0] == "word" and token[1].lower() in words:
            self.at += 1
            return True
        return False

    def expect(self, value: str) -> None:
        _, text = self.take()
        if text.lower() != value:
            raise invalid(f"searchQuery: expected {value!r}, found {text!r}.")

    def parse(self) -> Query:
        if not self.keyword("search"):
            raise invalid("searchQuery must start with search \"<compartment OCID>...\".")
        query = Query(streams=[self.stream()])
        while self.peek() == ("op", ","):
            self.take()
            query.streams.append(self.stream())
        while self.peek() is not None:
            self.expect("|")
            if self.keyword("where"):
                query.where.append(self.expression())
            elif self.keyword("sort"):
                self.expect("by")
                query.sort.append(self.sort_key())
                while self.peek() == ("op", ","):
                    self.take()
                    query.sort.append(self.sort_key())
            else:
                _, text = self.take()
                raise unsupported(f"the {text!r} command")
        return query

    def stream(self) -> list[str]:
        kind, text = self.take()
        if kind != "str":
            raise invalid("searchQuery: a log stream is a quoted \"<compartment>/<log group>"
                          "/<log>\".")
        parts = _unquote(text).split("/")
        if not 1 <= len(parts) <= 3 or not all(p.strip() for p in parts):
            raise invalid(f"searchQuery: {text} is not \"<compartment>[/<log group>[/<log>]]\".")
        return [p.strip() for p in parts]

    def sort_key(self) -> tuple[str, bool]:
        kind, text = self.take()
        if kind not in ("word", "str"):
            raise invalid(f"searchQuery: sort by needs a field, found {text!r}.")
        name = _unquote(text) if kind == "str" else text
        descending = False
        if self.keyword("desc"):
            descending = True
        else:
            self.keyword("asc")
        return name, descending

    def expression(self) -> Predicate:
        left = self.conjunction()
        while self.keyword("or"):
            right = self.conjunction()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def conjunction(self) -> Predicate:
        left = self.factor()
        while self.keyword("and"):
            right = self.factor()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def factor(self) -> Predicate:
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise invalid(f"searchQuery: more than {MAX_TERMS} conditions.")
        if self.keyword("not"):
            inner = self.factor()
            return lambda r: not inner(r)
        if self.peek() == ("op", "("):
            self.take()
            inner = self.expression()
            self.expect(")")
            return inner
        kind, text = self.take()
        if kind not in ("word", "str"):
            raise invalid(f"searchQuery: expected a field, found {text!r}.")
        name = _unquote(text) if kind == "str" else text
        op_kind, op = self.take()
        if op_kind != "op" or op not in ("=", "!="):
            raise unsupported(f"the operator {op!r}")
        value_kind, value = self.take()
        if value_kind == "str":
            wanted: str | float = _unquote(value)
        elif value_kind == "num":
            wanted = float(value)
        else:
            raise invalid(f"searchQuery: expected a quoted string or a number, "
                          f"found {value!r}.")
        if op == "=":
            return lambda r: _equal(value_of(r, name), wanted)
        return lambda r: not _equal(value_of(r, name), wanted)


def parse(text: str) -> Query:
    return _Parser(text).parse()

"""Parser for OCI policy statements and dynamic-group matching rules.

Covers `Allow|Deny <subject> to <verb> <resource-type> | {PERM, ...} in <location>
[where <conditions>]`; `Define`, `Endorse` and `Admit` are recognised and kept as text
(cross-tenancy statements are out of scope for evaluation). Parsing happens once per
statement; patterns are compiled here so evaluation never compiles a regex.

Left out (not used by our services): time conditions (`before`/`after`, time-of-day
ranges) and the tag operators `in`/`not in`. Nested `all {..., any {...}}` is accepted;
Oracle's syntax page shows only one level, real policies nest (facts file: unverified).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

VERBS = ("inspect", "read", "use", "manage")
SUBJECT_KINDS = ("group", "dynamic-group", "any-user", "any-group", "service")


class PolicyError(ValueError):
    """A statement that does not parse: the text, the 1-based column and what was expected."""

    def __init__(self, text: str, column: int, message: str) -> None:
        super().__init__(f"{message} at column {column}: {text}")
        self.text = text
        self.column = column
        self.message = message


@dataclass(frozen=True, slots=True)
class Token:
    kind: Literal["word", "string", "pattern", "op", "punct"]
    value: str
    column: int  # 1-based


@dataclass(frozen=True, slots=True)
class Subject:
    kind: str  # one of SUBJECT_KINDS
    names: tuple[str, ...] = ()  # names or ocids; empty for any-user/any-group
    by_id: bool = False


@dataclass(frozen=True, slots=True)
class Location:
    kind: Literal["tenancy", "compartment"]
    name: str = ""  # a name, a colon path A:B, or an ocid when by_id
    by_id: bool = False


@dataclass(frozen=True, slots=True)
class Comparison:
    variable: str  # lower-cased, e.g. target.bucket.name
    op: Literal["=", "!="]
    value: str
    pattern: re.Pattern[str] | None = None  # for /pattern*/ values


@dataclass(frozen=True, slots=True)
class ConditionGroup:
    mode: Literal["all", "any"]
    items: tuple[Condition, ...]


Condition = Comparison | ConditionGroup


@dataclass(frozen=True, slots=True)
class Statement:
    text: str
    effect: Literal["allow", "deny"]
    subject: Subject
    verb: str | None  # None for the permission-list form
    resource_type: str | None
    permissions: tuple[str, ...]  # the permission-list form
    location: Location
    condition: Condition | None


@dataclass(frozen=True, slots=True)
class OtherStatement:
    """Define / Endorse / Admit: parsed as a keyword, not evaluated."""

    text: str
    keyword: Literal["define", "endorse", "admit"]


_WORD = re.compile(r"[A-Za-z0-9_.:\-*$@#]+")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        col = i + 1
        if ch.isspace():
            i += 1
        elif ch in "'\"":
            end = text.find(ch, i + 1)
            if end < 0:
                raise PolicyError(text, col, "unterminated quoted string")
            value = text[i + 1:end]
            i = end + 1
            # identity-domain prefix: 'Domain'/'Group'
            if i + 1 < n and text[i] == "/" and text[i + 1] in "'\"":
                q = text[i + 1]
                end2 = text.find(q, i + 2)
                if end2 < 0:
                    raise PolicyError(text, i + 2, "unterminated quoted string")
                value = f"{value}/{text[i + 2:end2]}"
                i = end2 + 1
            tokens.append(Token("string", value, col))
        elif ch == "/":
            end = text.find("/", i + 1)
            if end < 0:
                raise PolicyError(text, col, "unterminated /pattern/")
            tokens.append(Token("pattern", text[i + 1:end], col))
            i = end + 1
        elif ch == "!" and text.startswith("!=", i):
            tokens.append(Token("op", "!=", col))
            i += 2
        elif ch == "=":
            tokens.append(Token("op", "=", col))
            i += 1
        elif ch in "{},":
            tokens.append(Token("punct", ch, col))
            i += 1
        else:
            m = _WORD.match(text, i)
            if not m:
                raise PolicyError(text, col, f"unexpected character {ch!r}")
            tokens.append(Token("word", m.group(), col))
            i = m.end()
    return tokens


def _compile_pattern(raw: str) -> re.Pattern[str]:
    body = "".join(".*" if c == "*" else re.escape(c) for c in raw)
    return re.compile(body + r"\Z", re.IGNORECASE)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def end_column(self) -> int:
        return len(self.text.rstrip()) + 1

    def fail(self, expected: str, tok: Token | None = None) -> PolicyError:
        tok = tok if tok is not None else self.peek()
        column = tok.column if tok else self.end_column()
        found = f", found {tok.value!r}" if tok else ", found the end"
        return PolicyError(self.text, column, f"expected {expected}{found}")

    def next(self, expected: str) -> Token:
        tok = self.peek()
        if tok is None:
            raise self.fail(expected)
        self.pos += 1
        return tok

    def word(self, expected: str) -> str:
        tok = self.peek()
        if tok is None or tok.kind not in ("word", "string"):
            raise self.fail(expected)
        self.pos += 1
        return tok.value

    def keyword(self, kw: str, expected: str) -> None:
        tok = self.peek()
        if tok is None or tok.kind != "word" or tok.value.lower() != kw:
            raise self.fail(expected)
        self.pos += 1

    def at_keyword(self, kw: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.value.lower() == kw

    def at_punct(self, p: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "punct" and tok.value == p

    # statements
    def statement(self) -> Statement | OtherStatement:
        tok = self.peek()
        if tok is None:
            raise self.fail("'Allow', 'Deny', 'Define', 'Endorse' or 'Admit'")
        head = tok.value.lower() if tok.kind == "word" else ""
        if head in ("define", "endorse", "admit"):
            return OtherStatement(self.text, head)  # type: ignore[arg-type]
        if head not in ("allow", "deny"):
            raise self.fail("'Allow', 'Deny', 'Define', 'Endorse' or 'Admit'")
        self.pos += 1
        subject = self.subject()
        self.keyword("to", "'to' after the subject")
        verb: str | None = None
        rtype: str | None = None
        perms: tuple[str, ...] = ()
        if self.at_punct("{"):
            self.pos += 1
            perms = tuple(p.upper() for p in self.comma_words("a permission name", "}"))
        else:
            tok = self.peek()
            if tok is None or tok.kind != "word" or tok.value.lower() not in VERBS:
                raise self.fail("a verb (inspect, read, use, manage) or {PERMISSION, ...}")
            verb = tok.value.lower()
            self.pos += 1
            rtype = self.word("a resource type after the verb").lower()
        self.keyword("in", "'in' after the resource type")
        location = self.location()
        condition: Condition | None = None
        if self.at_keyword("where"):
            self.pos += 1
            condition = self.condition()
        if self.peek() is not None:
            raise self.fail("'where' or the end of the statement")
        return Statement(self.text, head, subject, verb, rtype, perms, location, condition)  # type: ignore[arg-type]

    def comma_words(self, expected: str, close: str) -> list[str]:
        items = [self.word(expected)]
        while self.at_punct(","):
            self.pos += 1
            items.append(self.word(expected))
        if not self.at_punct(close):
            raise self.fail(f"',' or '{close}'")
        self.pos += 1
        return items

    def subject(self) -> Subject:
        tok = self.peek()
        kind = tok.value.lower() if tok is not None and tok.kind == "word" else ""
        if kind not in SUBJECT_KINDS:
            raise self.fail("a subject (group, dynamic-group, service, any-user, any-group)")
        self.pos += 1
        if kind in ("any-user", "any-group"):
            return Subject(kind)
        by_id = False
        if self.at_keyword("id"):
            by_id = True
            self.pos += 1
        names = [self.word(f"a {kind} name")]
        while self.at_punct(","):
            self.pos += 1
            if self.at_keyword("id"):  # `group id X, id Y`
                self.pos += 1
            names.append(self.word(f"a {kind} name after ','"))
        if kind == "service":
            names = [n.lower() for n in names]
        return Subject(kind, tuple(names), by_id)

    def location(self) -> Location:
        if self.at_keyword("tenancy"):
            self.pos += 1
            return Location("tenancy")
        self.keyword("compartment", "'tenancy' or 'compartment' after 'in'")
        if self.at_keyword("id"):
            self.pos += 1
            return Location("compartment", self.word("a compartment ocid"), by_id=True)
        return Location("compartment", self.word("a compartment name or path"))

    def condition(self) -> Condition:
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.value.lower() in ("all", "any"):
            nxt = self.tokens[self.pos + 1] if self.pos + 1 < len(self.tokens) else None
            if nxt is not None and nxt.kind == "punct" and nxt.value == "{":
                self.pos += 2
                items = [self.condition()]
                while self.at_punct(","):
                    self.pos += 1
                    items.append(self.condition())
                if not self.at_punct("}"):
                    raise self.fail("',' or '}' in the condition list")
                self.pos += 1
                return ConditionGroup(tok.value.lower(), tuple(items))  # type: ignore[arg-type]
        if tok is None or tok.kind != "word":
            raise self.fail("a condition variable or all {...} / any {...}")
        self.pos += 1
        var = tok.value.lower()
        op_tok = self.peek()
        if op_tok is None or op_tok.kind != "op":
            raise self.fail(f"'=' or '!=' after {tok.value!r}")
        self.pos += 1
        val = self.next("a value after the operator")
        if val.kind == "pattern":
            return Comparison(var, op_tok.value, val.value, _compile_pattern(val.value))  # type: ignore[arg-type]
        if val.kind not in ("word", "string"):
            raise self.fail("a value after the operator", val)
        return Comparison(var, op_tok.value, val.value)  # type: ignore[arg-type]


def parse_statement(text: str) -> Statement | OtherStatement:
    """Parse one policy statement (whitespace, including newlines, is insignificant)."""
    return _Parser(" ".join(text.split())).statement()


def parse_matching_rule(text: str) -> Condition:
    """Parse a dynamic-group matching rule: `ALL {...}`, `Any {...}`, nested, or one comparison."""
    p = _Parser(" ".join(text.split()))
    cond = p.condition()
    if p.peek() is not None:
        raise p.fail("the end of the matching rule")
    return cond

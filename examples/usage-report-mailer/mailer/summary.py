"""A short plain-text summary of a usage report for the mail body.

OCI cost and usage reports name columns `cost/myCost`, `product/service`,
`cost/currencyCode`; scheduled cost-analysis reports use plainer names. The first
matching column (case-insensitive) is used; without a cost column there is no total.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

COST = ("cost/mycost", "cost/cost", "mycost", "cost", "costinusd", "amount")
SERVICE = ("product/service", "service", "servicename", "product/description")
CURRENCY = ("cost/currencycode", "currencycode", "currency")
TOP = 5


def _column(header: list[str], names: tuple[str, ...]) -> int | None:
    lowered = [h.strip().lower() for h in header]
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


def summarize(name: str, text: str) -> str:
    try:
        return _summarize(name, text)
    except csv.Error:  # an odd row (a field over csv's size limit, say): mail it anyway
        return f"Usage report: {name}\n\nThe full report is attached.\n"


def _rows(text: str) -> Iterator[list[str]]:
    if '"' in text:  # quoting (maybe newlines inside fields): the csv module's job
        yield from csv.reader(io.StringIO(text))
        return
    # No quotes: a plain split is the same parse, ~4x faster on a 25k-row report.
    first, _, rest = text.partition("\n")  # the header without splitting the whole text
    if first.rstrip("\r"):
        yield first.rstrip("\r").split(",")
    for line in rest.splitlines():
        if line:
            yield line.split(",")


def _cost(text: str) -> Decimal | None:
    try:
        cost = Decimal(text or "0")  # money: Decimal, not float
    except InvalidOperation:
        return None
    return cost if cost.is_finite() else None


def _totals(triples: Counter[tuple[str, str, str]], with_service: bool,
            with_currency: bool) -> tuple[Decimal, dict[str, Decimal], set[str]]:
    """The sums over (service, cost, currency) -> count, as `_scan` makes them row by row."""
    total = Decimal(0)
    by_service: dict[str, Decimal] = defaultdict(Decimal)
    currencies: set[str] = set()
    for (service, text, currency), count in triples.items():
        cost = _cost(text)
        if cost is None:
            continue
        total += cost * count
        if with_service:
            by_service[service or "(none)"] += cost * count
        if with_currency and currency:
            currencies.add(currency)
    return total, by_service, currencies


def _scan(reader: Iterator[list[str]], cost_at: int | None, service_at: int | None,
          currency_at: int | None) -> tuple[int, Decimal, dict[str, Decimal], set[str]]:
    rows = 0
    total = Decimal(0)
    by_service: dict[str, Decimal] = defaultdict(Decimal)
    currencies: set[str] = set()
    for row in reader:
        if not row:
            continue
        rows += 1
        if cost_at is None or cost_at >= len(row):
            continue
        cost = _cost(row[cost_at])
        if cost is None:
            continue
        total += cost
        if service_at is not None and service_at < len(row):
            by_service[row[service_at] or "(none)"] += cost
        if currency_at is not None and currency_at < len(row) and row[currency_at]:
            currencies.add(row[currency_at])
    return rows, total, by_service, currencies


def _columns(text: str, width: int, wanted: list[int]) -> tuple[int, list[list[str]]] | None:
    """Rows and the wanted columns of a rectangular, quote-free CSV (header first), by one
    split of the whole text and strided slices: ~3x faster than a split per line on a
    25k-row report. None when the text is not that simple (quotes, ragged or blank rows);
    then the general path parses it."""
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if '"' in text or "\r" in text or "\n\n" in text:
        return None
    body = text.rstrip("\n")
    rows = body.count("\n")  # data rows, the header excluded
    fields = body.replace("\n", ",").split(",")
    if len(fields) != (rows + 1) * width:
        return None  # ragged: some row has more or fewer fields than the header
    return rows, [fields[width + at::width] for at in wanted]


def _summarize(name: str, text: str) -> str:
    reader = _rows(text)
    header = next(reader, [])
    cost_at, service_at = _column(header, COST), _column(header, SERVICE)
    currency_at = _column(header, CURRENCY)
    fast = None if cost_at is None else _columns(
        text, len(header), [cost_at, service_at if service_at is not None else cost_at,
                            currency_at if currency_at is not None else cost_at])
    if fast is not None:
        rows, (costs, services, currency_values) = fast
        # Each distinct (service, cost, currency) once: Decimal work per distinct value,
        # not per row (a report repeats its prices).
        triples = Counter(zip(services, costs, currency_values, strict=True))
        total, by_service, currencies = _totals(triples, service_at is not None,
                                                currency_at is not None)
    else:
        rows, total, by_service, currencies = _scan(reader, cost_at, service_at, currency_at)
    lines = [f"Usage report: {name}", f"Rows: {rows}"]
    if cost_at is not None:
        unit = f" {currencies.pop()}" if len(currencies) == 1 else ""
        lines.append(f"Total cost: {total:.2f}{unit}")
        if by_service:
            lines.append("Top services by cost:")
            ranked = sorted(by_service.items(), key=lambda kv: kv[1], reverse=True)[:TOP]
            lines.extend(f"  {service}: {cost:.2f}{unit}" for service, cost in ranked)
    lines.append("")
    lines.append("The full report is attached.")
    return "\n".join(lines) + "\n"

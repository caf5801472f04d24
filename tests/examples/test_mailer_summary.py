"""The mail body's summary: the fast column path agrees with a csv-module parse on every
shape of report (quotes, CRLF, blank or ragged rows, bad costs, missing columns)."""

from __future__ import annotations

import csv
import io
import random
import sys
from collections import defaultdict
from decimal import Decimal, InvalidOperation

import pytest

from support.mailer import EXAMPLE

sys.path.insert(0, str(EXAMPLE))
from mailer.summary import summarize

SERVICES = ["COMPUTE", "NETWORK", "DATABASE", "", "OBJECT_STORAGE", "FUNCTIONS", "BLOCK"]
COSTS = ["0.25", "1.5", "", "12", "-0.75", "abc", "NaN", "Infinity", "3.333", "1e2"]


def reference(name: str, text: str) -> str:
    """The summary computed the plain way: csv.reader, one Decimal per row."""
    rows_in = [r for r in csv.reader(io.StringIO(text)) if r]
    header = [h.strip().lower() for h in rows_in[0]]

    def at(names: tuple[str, ...]) -> int | None:
        return next((header.index(n) for n in names if n in header), None)

    cost_at, service_at = at(("cost/mycost", "cost")), at(("product/service",))
    currency_at = at(("cost/currencycode",))
    total, by_service, currencies = Decimal(0), defaultdict(Decimal), set()
    for row in rows_in[1:]:
        if cost_at is None or cost_at >= len(row):
            continue
        try:
            cost = Decimal(row[cost_at] or "0")
        except InvalidOperation:
            continue
        if not cost.is_finite():
            continue
        total += cost
        if service_at is not None and service_at < len(row):
            by_service[row[service_at] or "(none)"] += cost
        if currency_at is not None and currency_at < len(row) and row[currency_at]:
            currencies.add(row[currency_at])
    lines = [f"Usage report: {name}", f"Rows: {len(rows_in) - 1}"]
    if cost_at is not None:
        unit = f" {currencies.pop()}" if len(currencies) == 1 else ""
        lines.append(f"Total cost: {total:.2f}{unit}")
        if by_service:
            lines.append("Top services by cost:")
            ranked = sorted(by_service.items(), key=lambda kv: kv[1], reverse=True)[:5]
            lines.extend(f"  {s}: {c:.2f}{unit}" for s, c in ranked)
    return "\n".join([*lines, "", "The full report is attached."]) + "\n"


def report(rng: random.Random, *, columns: list[str], rows: int, eol: str = "\n",
           blank: bool = False, ragged: bool = False, quoted: bool = False,
           currencies: tuple[str, ...] = ("USD",)) -> str:
    lines = [",".join(columns)]
    for i in range(rows):
        values = {"lineItem/intervalUsageStart": f"2026-11-{i % 28 + 1:02d}",
                  "product/service": rng.choice(SERVICES),
                  "cost/myCost": rng.choice(COSTS),
                  "cost/currencyCode": rng.choice(currencies),
                  "product/resourceId": f"ocid1.instance.oc1..{rng.getrandbits(64):x}"}
        row = [values[c] for c in columns]
        if quoted and i % 5 == 0:
            row[0] = f'"{row[0]}, quoted"'
        if ragged and i % 7 == 3:
            row = row[:-1] if i % 2 else [*row, "extra"]
        lines.append(",".join(row))
        if blank and i % 11 == 0:
            lines.append("")
    return eol.join(lines) + eol


FULL = ["lineItem/intervalUsageStart", "product/service", "product/resourceId",
        "cost/myCost", "cost/currencyCode"]


@pytest.mark.parametrize("shape", [
    {}, {"eol": "\r\n"}, {"blank": True}, {"ragged": True}, {"quoted": True},
    {"currencies": ("USD", "EUR")}, {"currencies": ("",)},
    {"columns": ["cost/myCost", "product/resourceId"]},
    {"columns": ["product/service", "product/resourceId"]},
    {"columns": ["product/resourceId", "cost/myCost", "product/service"]},
], ids=repr)
def test_summary_matches_a_csv_parse(shape: dict) -> None:
    rng = random.Random(14)
    for rows in (0, 1, 3, 400):
        text = report(rng, **{"columns": FULL, "rows": rows, **shape})
        assert summarize("r.csv.gz", text) == reference("r.csv.gz", text), (shape, rows)


def test_summary_totals_a_known_report() -> None:
    text = "product/service,cost/myCost,cost/currencyCode\n" + "".join(
        f"{'AB'[i % 2]},{i % 7}.25,USD\n" for i in range(200))
    summary = summarize("r.csv.gz", text)
    total = sum(Decimal(f"{i % 7}.25") for i in range(200))
    assert f"Total cost: {total:.2f} USD" in summary
    assert "Rows: 200" in summary

"""`fastfn iam lint`: over-broad policy statements and what to write instead;
`fastfn iam suggest`: the least-privilege statements for operations the local cloud
recorded."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

import typer

iam = typer.Typer(help="OCI policies: lint, and suggest from recorded operations.",
                  no_args_is_help=True, rich_markup_mode=None)


def _load(text: str, source: str) -> tuple[list[tuple[str, list[str]]], Any]:
    """Statements one per line, or a tenancy YAML (policies/compartments/groups/...)."""
    from fastfn.doctor.iam.lint import TenancyNames

    stripped = [ln.strip() for ln in text.splitlines()]
    first = next((ln for ln in stripped if ln and not ln.startswith("#")), "")
    if first.lower().startswith(("allow ", "deny ", "define ", "endorse ", "admit ")):
        return [(source, [ln for ln in stripped if ln and not ln.startswith("#")])], None
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ValueError(f"{source}: not policy statements nor YAML ({err})") from None
    if not isinstance(data, dict) or not isinstance(data.get("policies"), list):
        raise ValueError(f"{source}: expected statements one per line or a 'policies:' list")
    policies: list[tuple[str, list[str]]] = []
    for i, spec in enumerate(data["policies"]):
        if not isinstance(spec, dict) or not isinstance(spec.get("statements"), list):
            raise ValueError(f"{source}: policies[{i}].statements must be a list")
        policies.append((str(spec.get("name") or f"policies[{i}]"),
                         [str(s) for s in spec["statements"]]))

    def names(key: str) -> frozenset[str]:
        return frozenset(str(e.get("name", "")).lower() for e in data.get(key) or []
                         if isinstance(e, dict))

    tenancy = None
    if any(k in data for k in ("compartments", "groups", "dynamic_groups")):
        tenancy = TenancyNames(names("compartments"), names("groups"), names("dynamic_groups"))
    return policies, tenancy


@iam.command()
def lint(
    file: str = typer.Argument(..., metavar="FILE|-", help="statements or a tenancy YAML"),
    as_json: bool = typer.Option(False, "--json", help="findings as JSON"),
) -> None:
    """Flag over-broad statements with the replacement; exit 1 on errors."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from fastfn.doctor.iam.lint import lint as run_lint

    err = Console(stderr=True, markup=False, highlight=False)
    try:
        text = sys.stdin.read() if file == "-" else Path(file).read_text()
        policies, tenancy = _load(text, "-" if file == "-" else file)
    except (OSError, ValueError) as e:
        err.print(Text(f"error: {e}"))
        raise typer.Exit(2) from None
    findings = run_lint(policies, tenancy)
    if as_json:
        print(json.dumps([asdict(f) for f in findings], indent=2))
    elif not findings:
        print("no findings")
    else:
        table = Table(show_lines=True, width=80)
        table.add_column("level", no_wrap=True)
        table.add_column("rule", no_wrap=True)
        table.add_column("statement / why / instead", ratio=1)
        for f in findings:
            body = Text(f.statement)
            body.append(f"\n{f.message}", style="dim")
            body.append(f"\ninstead: {f.replacement or '(delete it)'}", style="green")
            table.add_row(Text(f.level, style="red" if f.level == "error" else "yellow"),
                          Text(f.rule), body)
        Console(width=80).print(table)
    if any(f.level == "error" for f in findings):
        raise typer.Exit(1)


@iam.command()
def suggest(
    state_dir: Path = typer.Option(Path(".fastfn") / "cloud", "--state-dir",
                                   help="the local cloud's state (run with --record)"),
    principal: str = typer.Option(None, help="whose operations (an OCID; default: the one "
                                  "resource principal recorded)"),
    dynamic_group: str = typer.Option(None, "--dynamic-group",
                                      help="name the subject: dynamic-group NAME"),
    group: str = typer.Option(None, "--group", help="name the subject: group NAME"),
    as_json: bool = typer.Option(False, "--json", help="statements and operations as JSON"),
) -> None:
    """Print the minimal statements allowing exactly the operations a principal made."""
    from rich.console import Console
    from rich.text import Text

    from fastfn.doctor.iam.suggest import principals
    from fastfn.doctor.iam.suggest import suggest as run_suggest
    from fastfn.localcloud.oci.core.layout import StateLayout

    err = Console(stderr=True, markup=False, highlight=False)
    path = StateLayout(state_dir).operations
    try:
        records = [json.loads(line) for line in path.read_text().splitlines() if line]
    except FileNotFoundError:
        err.print(Text(f"error: no recorded operations at {path}: run the service's tests "
                       "on `fastfn cloud up --record` first"))
        raise typer.Exit(2) from None
    except (OSError, ValueError) as e:
        err.print(Text(f"error: {path}: {e}"))
        raise typer.Exit(2) from None
    found = principals(records)
    if principal is None:
        resources = [p for p in found if p.get("kind") == "resource"]
        if len(resources) != 1:
            listed = ", ".join(p["id"] for p in found) or "none"
            err.print(Text(f"error: pass --principal (recorded: {listed})"))
            raise typer.Exit(2)
        principal = resources[0]["id"]
    chosen = next((p for p in found if p["id"] == principal), None)
    if chosen is None:
        err.print(Text(f"error: --principal: no operations recorded for {principal}"))
        raise typer.Exit(2)
    if group:
        subject = f"group {group}"
    else:
        suffix = "".join(c for c in principal if c.isalnum())[-8:].lower()
        subject = f"dynamic-group {dynamic_group or 'fastfn-' + suffix}"
    found_statements = run_suggest(records, subject, principal)
    if as_json:
        print(json.dumps([asdict(s) for s in found_statements], indent=2))
        return
    if chosen.get("kind") == "resource" and not group:
        print(f"# {subject}: matching rule ALL {{resource.type = "
              f"'{chosen.get('type') or 'fnfunc'}', resource.id = '{principal}'}}")
    for item in found_statements:
        print(item.statement)

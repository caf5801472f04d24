"""Dependencies taken from this interpreter's installed distributions, for the embedded
AWS: the local Lambda runs functions under this interpreter, so the packages it already
has are exactly the right builds, and no index is needed (offline, fast).

`copy_installed(requirements, target)` walks each requirement and what it requires
(extras and environment markers honoured), checks the installed version satisfies the
specifier, and copies each distribution's files (as listed in its RECORD, no bytecode or
scripts) under `target`. A requirement that is not installed, or not in the version
asked for, is a BuildError naming it.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

from fastfn.deploy.errors import BuildError


def _canonical(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def copy_installed(requirements: Sequence[str], target: Path) -> None:
    from packaging.requirements import InvalidRequirement, Requirement

    pending: list[tuple[str, tuple[str, ...]]] = []
    for line in requirements:
        try:
            requirement = Requirement(line)
        except InvalidRequirement as exc:
            raise BuildError(f"requirements.txt: {line!r}: {exc}") from None
        pending.append((str(requirement), ()))
    done: dict[str, set[str]] = {}
    while pending:
        text, parent_extras = pending.pop()
        requirement = Requirement(text)
        if requirement.marker is not None and not any(
                requirement.marker.evaluate({"extra": extra})
                for extra in (parent_extras or ("",))):
            continue
        name = _canonical(requirement.name)
        if name == "fastfn":
            continue
        try:
            dist = metadata.distribution(requirement.name)
        except metadata.PackageNotFoundError:
            raise BuildError(f"{requirement.name} (wanted by the requirements) is not "
                             "installed here, so the embedded AWS cannot package it: "
                             f"pip install '{requirement}'") from None
        if requirement.specifier and not requirement.specifier.contains(
                dist.version, prereleases=True):
            raise BuildError(f"{requirement.name} {dist.version} is installed here but the "
                             f"requirements want {requirement.specifier}")
        extras = set(requirement.extras)
        if name in done and extras <= done[name]:
            continue
        first = name not in done
        done.setdefault(name, set()).update(extras)
        if first:
            _copy_files(dist, target)
        for child in dist.requires or ():
            pending.append((child, tuple(sorted(extras))))


def _copy_files(dist: metadata.Distribution, target: Path) -> None:
    for file in dist.files or ():
        parts = Path(str(file)).parts
        if not parts or parts[0] == ".." or "__pycache__" in parts or str(file).endswith(
                (".pyc", "direct_url.json", "INSTALLER", "REQUESTED")):
            continue
        source = Path(str(dist.locate_file(file)))
        if not source.is_file():
            continue
        destination = target.joinpath(*parts)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)

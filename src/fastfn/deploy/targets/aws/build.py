"""The Lambda packages of a service: its code zip, and its dependencies as a layer zip.

- The code zip holds the service directory (no virtualenvs, caches, VCS, local state, or
  the manifest, which becomes configuration).
- The dependency zip is a layer (`python/...`, which Lambda puts on sys.path from /opt):
  the service's requirements.txt resolved by pip for Lambda's platform and architecture
  (`--platform manylinux..._x86_64|aarch64 --only-binary=:all: --python-version X.Y
  --implementation cp --target ...`), plus fastfn's own runtime package (fastfn/__init__.py
  and fastfn/runtime/, copied from this install; a requirement on `fastfn` is therefore
  not handed to pip).
- Both are reproducible: entries sorted, fixed timestamps and modes, no pip metadata that
  names this machine (direct_url.json, INSTALLER, bin/), so the same inputs give the same
  sha256. Bytecode is compiled in unchecked-hash mode (no mtimes in it) when this
  interpreter is the target's Python version; otherwise it is left out and Lambda
  compiles on import.
- The dependency set is content-addressed twice: the *request* (requirements, Python
  version, architecture, index options) keys a local cache, so an unchanged set does not
  run pip again; the zip's sha256 names its S3 object, so an unchanged set is not uploaded
  again. `resolved` lists what pip installed (`name==version`, sorted).
"""

from __future__ import annotations

import hashlib
import io
import os
import py_compile
import shutil
import stat
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from fastfn.deploy.errors import BuildError

FIXED_TIME = (1980, 1, 1, 0, 0, 0)
PLATFORMS = {
    "x86_64": ("manylinux2014_x86_64", "manylinux_2_28_x86_64", "manylinux_2_34_x86_64"),
    "arm64": ("manylinux2014_aarch64", "manylinux_2_28_aarch64", "manylinux_2_34_aarch64"),
}
_SKIP_DIRS = {".venv", "venv", "__pycache__", ".git", ".fastfn", ".pytest_cache",
              ".mypy_cache", ".ruff_cache", "node_modules", "tests", ".tox"}
_SKIP_SUFFIXES = (".pyc", ".pyo", ".zip")
# The manifest becomes the function's configuration; in the zip it would make a config-only
# change a code change too.
_SKIP_TOP = {"fastfn.yaml", "fastfn.yml"}
_PIP_NOISE = ("direct_url.json", "INSTALLER", "REQUESTED")


@dataclass(frozen=True)
class BuildOptions:
    python: str = "3.12"
    architecture: str = "x86_64"
    index_url: str | None = None
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    # "pip": resolved by pip for Lambda's platform; "installed": copied from this
    # interpreter's installed packages (installed.py), for the embedded AWS.
    resolver: str = "pip"

    def pip_args(self) -> list[str]:
        args = ["--only-binary=:all:", "--implementation", "cp", "--python-version",
                self.python]
        for platform in PLATFORMS[self.architecture]:
            args += ["--platform", platform]
        if self.index_url:
            args += ["--index-url", self.index_url]
        for link in self.find_links:
            args += ["--find-links", link]
        if self.no_index:
            args.append("--no-index")
        return args


@dataclass(frozen=True)
class ZipPackage:
    data: bytes = field(repr=False)
    sha256: str  # hex

    @property
    def size(self) -> int:
        return len(self.data)


@dataclass(frozen=True)
class LambdaPackages:
    code: ZipPackage
    deps: ZipPackage
    requirements: tuple[str, ...]  # as requested, normalized and sorted
    resolved: tuple[str, ...]  # name==version, as installed
    bytecode: bool


def _zip(files: Iterable[tuple[str, Path]]) -> ZipPackage:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, path in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            mode = 0o755 if os.stat(path).st_mode & stat.S_IXUSR else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    data = buffer.getvalue()
    return ZipPackage(data, hashlib.sha256(data).hexdigest())


def _tree(root: Path, prefix: str = "", skip_dirs: Iterable[str] = ()) -> list[tuple[str, Path]]:
    skip = set(skip_dirs)
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in skip and not d.endswith(".egg-info"))
        for name in filenames:
            if name.endswith(_SKIP_SUFFIXES):
                continue
            path = Path(dirpath) / name
            if path.is_symlink() or not path.is_file():
                continue
            out.append((prefix + path.relative_to(root).as_posix(), path))
    return out


def _with_bytecode(files: list[tuple[str, Path]], scratch: Path,
                   strict: bool = True) -> list[tuple[str, Path]]:
    """Each .py with its `__pycache__/<name>.cpython-XY.pyc` (unchecked hash: no mtime).
    `strict`: a file that does not compile is an error (the service's own code); else it
    is left without bytecode (a dependency's stray file, as pip itself does)."""
    tag = sys.implementation.cache_tag
    out = list(files)
    for name, path in files:
        if not name.endswith(".py"):
            continue
        folder, _, base = name.rpartition("/")
        pyc_name = f"{folder + '/' if folder else ''}__pycache__/{base[:-3]}.{tag}.pyc"
        target = scratch / pyc_name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            py_compile.compile(str(path), cfile=str(target), dfile=name, doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        except py_compile.PyCompileError as exc:
            if not strict:
                continue
            raise BuildError(f"{name} does not compile: {exc.msg}") from None
        out.append((pyc_name, target))
    return out


def read_requirements(service_dir: Path) -> tuple[str, ...]:
    """requirements.txt without comments, blank lines and fastfn itself, sorted."""
    path = service_dir / "requirements.txt"
    if not path.is_file():
        return ()
    out = set()
    for line in path.read_text().splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("-"):
            raise BuildError(f"requirements.txt: options such as {line.split()[0]!r} are "
                             "not supported here; use the manifest's aws index settings")
        name = line.replace("_", "-").lower()
        if name == "fastfn" or name.startswith(("fastfn[", "fastfn=", "fastfn>", "fastfn<",
                                                "fastfn ", "fastfn~", "fastfn!")):
            continue
        out.add(line)
    return tuple(sorted(out))


def _runtime_files() -> list[tuple[str, Path]]:
    import fastfn

    root = Path(fastfn.__file__).parent
    files = [("python/fastfn/__init__.py", root / "__init__.py")]
    files += _tree(root / "runtime", "python/fastfn/runtime/", _SKIP_DIRS)
    return files


def request_key(requirements: Sequence[str], options: BuildOptions) -> str:
    runtime = hashlib.sha256()
    for name, path in sorted(_runtime_files()):
        runtime.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    text = "\n".join([*requirements, f"python={options.python}",
                      f"arch={options.architecture}", f"index={options.index_url}",
                      f"links={','.join(options.find_links)}", f"no-index={options.no_index}",
                      f"resolver={options.resolver}",
                      f"runtime={runtime.hexdigest()}", f"bytecode={_bytecode(options)}"])
    return hashlib.sha256(text.encode()).hexdigest()


def _bytecode(options: BuildOptions) -> bool:
    return options.python == f"{sys.version_info.major}.{sys.version_info.minor}"


def _pip_install(requirements: Sequence[str], target: Path, options: BuildOptions) -> None:
    if not requirements:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(requirements) + "\n")
    argv = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
            "--no-input", "--no-compile", "--target", str(target), *options.pip_args(),
            "-r", handle.name]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=900,
                              env={**os.environ, "PIP_NO_INPUT": "1"})
    finally:
        os.unlink(handle.name)
    if done.returncode != 0:
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise BuildError("pip could not resolve the dependencies for Lambda "
                         f"(python {options.python}, {options.architecture}): "
                         + " | ".join(lines[-4:]))


def _clean_pip_output(target: Path) -> tuple[str, ...]:
    shutil.rmtree(target / "bin", ignore_errors=True)
    resolved = []
    for info in sorted(target.glob("*.dist-info")):
        for noise in _PIP_NOISE:
            (info / noise).unlink(missing_ok=True)
        record = info / "RECORD"
        if record.exists():  # drop the lines of the files removed above
            lines = [line for line in record.read_text().splitlines()
                     if line.split(",")[0].rsplit("/", 1)[-1] not in _PIP_NOISE
                     and not line.startswith("../")]
            record.write_text("\n".join(sorted(lines)) + "\n")
        name, version = _dist_name(info)
        resolved.append(f"{name}=={version}")
    return tuple(sorted(resolved))


def _dist_name(info: Path) -> tuple[str, str]:
    name = version = ""
    for line in (info / "METADATA").read_text(errors="replace").splitlines():
        if line.startswith("Name:"):
            name = line.split(":", 1)[1].strip()
        elif line.startswith("Version:"):
            version = line.split(":", 1)[1].strip()
        elif not line.strip():
            break
    return name.lower().replace("_", "-"), version


class PackageBuilder:
    """Builds a service's packages; `cache_dir` keeps resolved dependency sets by key."""

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = Path(cache_dir)
        self.pip_runs = 0  # how many times pip ran (an unchanged set: none)

    def build(self, service_dir: Path, options: BuildOptions) -> LambdaPackages:
        service_dir = Path(service_dir)
        if not service_dir.is_dir():
            raise BuildError(f"{service_dir} is not a directory")
        if options.architecture not in PLATFORMS:
            raise BuildError(f"aws.architecture: must be one of {sorted(PLATFORMS)}")
        if options.resolver not in ("pip", "installed"):
            raise BuildError("aws.resolver: must be 'pip' or 'installed'")
        requirements = read_requirements(service_dir)
        bytecode = _bytecode(options)
        deps, resolved = self._deps(requirements, options, bytecode)
        with tempfile.TemporaryDirectory(prefix="fastfn-code-") as scratch:
            files = [(name, path) for name, path in _tree(service_dir, "", _SKIP_DIRS)
                     if name not in _SKIP_TOP]
            if bytecode:
                files = _with_bytecode(files, Path(scratch))
            code = _zip(files)
        return LambdaPackages(code, deps, requirements, resolved, bytecode)

    def _deps(self, requirements: tuple[str, ...], options: BuildOptions,
              bytecode: bool) -> tuple[ZipPackage, tuple[str, ...]]:
        key = request_key(requirements, options)
        cached = self.cache_dir / f"deps-{key}.zip"
        listing = self.cache_dir / f"deps-{key}.txt"
        if cached.is_file() and listing.is_file():
            data = cached.read_bytes()
            return (ZipPackage(data, hashlib.sha256(data).hexdigest()),
                    tuple(line for line in listing.read_text().splitlines() if line))
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="fastfn-deps-") as scratch:
            target = Path(scratch) / "python"
            target.mkdir()
            if options.resolver == "installed":
                from fastfn.deploy.targets.aws.installed import copy_installed

                copy_installed(requirements, target)
            else:
                self.pip_runs += 1
                _pip_install(requirements, target, options)
            resolved = _clean_pip_output(target)
            files = _tree(target, "python/", ("__pycache__",)) + _runtime_files()
            if bytecode:
                files = _with_bytecode(files, Path(scratch) / "pyc", strict=False)
            package = _zip(files)
        partial = cached.with_suffix(".part")
        partial.write_bytes(package.data)
        os.replace(partial, cached)
        listing.write_text("\n".join(resolved) + "\n")
        return package, resolved

"""Lambda packages: code zip and dependency layer, reproducible, resolved by real pip for
the Lambda platform (offline, from wheels made here)."""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pytest

from fastfn.deploy.errors import BuildError
from fastfn.deploy.targets.aws.build import BuildOptions, PackageBuilder, read_requirements

from .wheels import make_wheel

LOCAL_PY = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture
def wheelhouse(tmp_path: Path) -> Path:
    house = tmp_path / "wheels"
    make_wheel(house, "greeting", "1.2.0", {"greeting/__init__.py": "HELLO = 'hi'\n"},
               requires=("tinydep>=0.1",))
    make_wheel(house, "tinydep", "0.3.1", {"tinydep.py": "X = 1\n"})
    # Only a Linux aarch64 build of this one: found for arm64, never for x86_64.
    make_wheel(house, "native", "2.0", {"native/__init__.py": "ARCH = 'aarch64'\n"},
               tag="cp311-cp311-manylinux2014_aarch64")
    return house


def _service(root: Path, requirements: str = "greeting==1.2.0\nfastfn[aws]\n") -> Path:
    service = root / "svc"
    (service / "pkg").mkdir(parents=True)
    (service / "main.py").write_text("from pkg import x\n")
    (service / "pkg" / "__init__.py").write_text("x = 1\n")
    (service / "requirements.txt").write_text("# deps\n" + requirements)
    (service / ".venv" / "lib").mkdir(parents=True)
    (service / ".venv" / "lib" / "junk.py").write_text("no = 1\n")
    (service / "__pycache__").mkdir()
    (service / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"stale")
    return service


def _names(data: bytes) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(data)).namelist()


def _options(wheelhouse: Path, **extra) -> BuildOptions:
    return BuildOptions(python=extra.pop("python", LOCAL_PY), find_links=(str(wheelhouse),),
                        no_index=True, **extra)


def test_requirements_skip_fastfn_and_comments(tmp_path: Path) -> None:
    service = _service(tmp_path, "b>=1  # why\n\nfastfn[oci]\na==2\n")
    assert read_requirements(service) == ("a==2", "b>=1")


def test_code_and_deps_packages(tmp_path: Path, wheelhouse: Path) -> None:
    service = _service(tmp_path)
    packages = PackageBuilder(tmp_path / "cache").build(service, _options(wheelhouse))
    code = _names(packages.code.data)
    assert "main.py" in code and "pkg/__init__.py" in code
    assert not any(name.startswith(".venv") for name in code)
    assert f"__pycache__/main.{sys.implementation.cache_tag}.pyc" in code
    assert "__pycache__/main.cpython-311.pyc" not in code or sys.implementation.cache_tag \
        == "cpython-311"
    assert zipfile.ZipFile(io.BytesIO(packages.code.data)).read(
        f"__pycache__/main.{sys.implementation.cache_tag}.pyc") != b"stale"

    deps = _names(packages.deps.data)
    assert "python/greeting/__init__.py" in deps and "python/tinydep.py" in deps
    assert "python/fastfn/runtime/aws/handler.py" in deps
    assert not any("direct_url.json" in name or name.startswith("python/bin/")
                   for name in deps)
    assert packages.resolved == ("greeting==1.2.0", "tinydep==0.3.1")
    assert packages.requirements == ("greeting==1.2.0",)
    assert packages.bytecode is True


def test_same_inputs_same_sha_and_no_second_pip_run(tmp_path: Path, wheelhouse: Path) -> None:
    service = _service(tmp_path)
    builder = PackageBuilder(tmp_path / "cache")
    first = builder.build(service, _options(wheelhouse))
    (service / "main.py").touch()  # a new mtime changes nothing
    second = builder.build(service, _options(wheelhouse))
    assert builder.pip_runs == 1
    assert (first.code.sha256, first.deps.sha256) == (second.code.sha256, second.deps.sha256)
    # A fresh cache (another machine) builds the very same bytes.
    third = PackageBuilder(tmp_path / "other-cache").build(service, _options(wheelhouse))
    assert (third.code.sha256, third.deps.sha256) == (first.code.sha256, first.deps.sha256)

    (service / "main.py").write_text("from pkg import x  # changed\n")
    changed = builder.build(service, _options(wheelhouse))
    assert changed.code.sha256 != first.code.sha256
    assert changed.deps.sha256 == first.deps.sha256 and builder.pip_runs == 1


def test_architecture_picks_the_platform_wheels(tmp_path: Path, wheelhouse: Path) -> None:
    service = _service(tmp_path, "native==2.0\n")
    arm = PackageBuilder(tmp_path / "c1").build(
        service, _options(wheelhouse, python="3.11", architecture="arm64"))
    assert "python/native/__init__.py" in _names(arm.deps.data)
    with pytest.raises(BuildError, match=r"pip could not resolve.*x86_64"):
        PackageBuilder(tmp_path / "c2").build(
            service, _options(wheelhouse, python="3.11", architecture="x86_64"))


def test_other_python_version_leaves_bytecode_out(tmp_path: Path, wheelhouse: Path) -> None:
    other = "3.13" if LOCAL_PY != "3.13" else "3.12"
    packages = PackageBuilder(tmp_path / "cache").build(_service(tmp_path),
                                                        _options(wheelhouse, python=other))
    assert packages.bytecode is False
    assert not any(name.endswith(".pyc") for name in _names(packages.code.data))


def test_code_that_does_not_compile_is_named(tmp_path: Path, wheelhouse: Path) -> None:
    service = _service(tmp_path)
    (service / "broken.py").write_text("def f(:\n")
    with pytest.raises(BuildError, match=r"broken\.py does not compile"):
        PackageBuilder(tmp_path / "cache").build(service, _options(wheelhouse))


def test_installed_resolver_copies_this_interpreters_packages(tmp_path: Path) -> None:
    service = _service(tmp_path, "httpx>=0.20\n")
    packages = PackageBuilder(tmp_path / "cache").build(
        service, BuildOptions(python=LOCAL_PY, resolver="installed"))
    names = _names(packages.deps.data)
    assert "python/httpx/__init__.py" in names
    assert "python/httpcore/__init__.py" in names  # what httpx requires, walked
    assert any(n.startswith("python/httpx-") and n.endswith(".dist-info/METADATA")
               for n in names)
    assert any(r.startswith("httpx==") for r in packages.resolved)


def test_installed_resolver_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="no-such-dist-xyz"):
        PackageBuilder(tmp_path / "c").build(_service(tmp_path, "no-such-dist-xyz\n"),
                                             BuildOptions(python=LOCAL_PY,
                                                          resolver="installed"))
    with pytest.raises(BuildError, match=r"httpx .* want >=999"):
        PackageBuilder(tmp_path / "d").build(_service(tmp_path / "x", "httpx>=999\n"),
                                             BuildOptions(python=LOCAL_PY,
                                                          resolver="installed"))

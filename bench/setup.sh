#!/usr/bin/env bash
# Creates the anchors' virtualenvs for bench/fn_runtime.py under bench/.venvs/ (gitignored):
#
#   fastfn    fastfn itself, editable from src/ (so it tracks the tree), with only what a
#             function image holds: its runtime deps (httptools, uvloop) and fastapi
#   fdk       fdk-python 0.1.128 (not ASGI: bench/apps/func.py adapts the app)
#   fdk-asgi  fdk-asgi[cli] 0.7.2 with what its metadata allows (uvicorn 0.25, typer 0.9,
#             httptools 0.6) and click < 8.2 (its CLI crashes with click >= 8.2)
#   uvicorn   uvicorn 0.54.0 with httptools and uvloop (the bench runs it both as plain
#             `uvicorn --uds` with h11/asyncio and with its auto-detected httptools/uvloop)
#
# Every package they share with the project (fastapi, pydantic, starlette, ...) is
# constrained to the version in requirements.lock, so all targets run the same app code.
# fastfn also runs from the project venv (.venv, made by scripts/setup.sh), a developer
# install with ~270 packages, to compare.
#   fastfn-baseline  only with FASTFN_BASELINE=<git rev>: fastfn as it was at that revision
#             (a plain install of `git archive <rev>`), beside today's, so a before/after of
#             a change is measured in one run (bench/fn_runtime.py's fastfn@baseline target)
# All venvs get compiled bytecode: cold start without .pyc is several times slower.
# Idempotent: a venv whose stamp is newer than this script and the lock is left alone.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
venvs="$here/.venvs"
mkdir -p "$venvs"

# The same interpreter as the project venv, so only the servers differ.
if [ -z "${PYTHON:-}" ] && [ -f "$root/.venv/pyvenv.cfg" ]; then
  home=$(sed -n 's/^home *= *//p' "$root/.venv/pyvenv.cfg")
  [ -x "$home/python3" ] && PYTHON="$home/python3"
fi
PY=${PYTHON:-python3}

if [ ! -x "$root/.venv/bin/python" ]; then
  echo "bench/setup: the project venv is missing; running scripts/setup.sh" >&2
  bash "$root/scripts/setup.sh"
fi

# Constraints: the project's lock, minus the packages the anchors pin on their own.
constraints="$venvs/constraints.txt"
grep -E '^[A-Za-z0-9_.-]+==' "$root/requirements.lock" \
  | grep -viE '^(httptools|uvicorn|typer|click|h11|uvloop)==' >"$constraints"

lockpin() {  # name -> name==version from requirements.lock
  grep -iE "^$1==" "$root/requirements.lock" | head -1
}

make_venv() {  # name, packages...
  local name=$1; shift
  local dir="$venvs/$name"
  local stamp="$dir/.bench-installed"
  if [ -f "$stamp" ] && [ "$stamp" -nt "$here/setup.sh" ] && [ "$stamp" -nt "$root/requirements.lock" ] \
      && { [ "$name" != fastfn ] || [ "$stamp" -nt "$root/pyproject.toml" ]; }; then
    return
  fi
  echo "bench/setup: $name <- $*"
  rm -rf "$dir"
  "$PY" -m venv "$dir"
  # (a machine-wide pip config may name missing local indexes: hide only that warning)
  "$dir/bin/python" -m pip install -q --disable-pip-version-check -c "$constraints" "$@" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  if [ "$name" = fastfn ]; then
    "$dir/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e "$root" \
      2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  fi
  "$dir/bin/python" -m compileall -q -j 0 "$dir/lib" >/dev/null || true
  touch "$stamp"
}

make_venv fastfn fastapi "$(lockpin httptools)" "$(lockpin uvloop)"
if [ -n "${FASTFN_BASELINE:-}" ]; then
  rev=$(git -C "$root" rev-parse --verify "$FASTFN_BASELINE^{commit}")
  dir="$venvs/fastfn-baseline"
  if [ "$(cat "$dir/.bench-rev" 2>/dev/null)" != "$rev" ]; then
    echo "bench/setup: fastfn-baseline <- fastfn at $rev"
    src=$(mktemp -d)
    git -C "$root" archive "$rev" | tar -x -C "$src"
    rm -rf "$dir"
    "$PY" -m venv "$dir"
    "$dir/bin/python" -m pip install -q --disable-pip-version-check -c "$constraints" \
      fastapi "$(lockpin httptools)" "$(lockpin uvloop)" "$src" \
      2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
    rm -rf "$src"
    "$dir/bin/python" -m compileall -q -j 0 "$dir/lib" >/dev/null || true
    echo "$rev" >"$dir/.bench-rev"
  fi
fi
make_venv fdk fdk==0.1.128 fastapi "$(lockpin httptools)"
make_venv fdk-asgi "fdk-asgi[cli]==0.7.2" fastapi uvicorn==0.25.0 typer==0.9.4 click==8.1.8 \
  httptools==0.6.4 h11==0.16.0 strenum==0.4.15
make_venv uvicorn fastapi "$(lockpin uvicorn)" "$(lockpin h11)" "$(lockpin httptools)" "$(lockpin uvloop)"

# Bytecode for the project and the bench app too (the interpreter's own stdlib ships it).
"$root/.venv/bin/python" -m compileall -q -j 0 "$root/src" "$here/apps" >/dev/null || true
"$root/.venv/bin/python" -m compileall -q -j 0 "$root/.venv/lib" >/dev/null 2>&1 || true

for name in fastfn fdk fdk-asgi uvicorn; do
  printf 'bench/setup: %-9s ' "$name"
  "$venvs/$name/bin/python" -c 'import importlib.metadata as m
names = ["fastfn", "fastapi", "pydantic", "starlette", "fdk", "fdk-asgi", "uvicorn", "httptools", "uvloop"]
found = []
for n in names:
    try:
        found.append(f"{n}=={m.version(n)}")
    except m.PackageNotFoundError:
        pass
print(" ".join(found))'
done

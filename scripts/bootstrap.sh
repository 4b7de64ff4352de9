# Sourced by scripts/run and scripts/test: find Python 3.12+, make .venv, install a lock.
# Installs only from the package registry, with every package pinned by hash.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

python_ok() { "$@" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

find_python() {
  if [ -n "${LASTMILE_PYTHON:-}" ] && python_ok "$LASTMILE_PYTHON"; then echo "$LASTMILE_PYTHON"; return; fi
  for candidate in python3.12 python3.13 python3.14 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && python_ok "$candidate"; then
      command -v "$candidate"; return
    fi
  done
  # pyenv puts shims on PATH that only answer for the selected version: ask it directly.
  if command -v pyenv >/dev/null 2>&1; then
    for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.(1[2-9])(\.|$)' | sort -rV); do
      candidate="$(PYENV_VERSION="$version" pyenv which python 2>/dev/null || true)"
      if [ -n "$candidate" ] && python_ok "$candidate"; then echo "$candidate"; return; fi
    done
  fi
  echo "Lastmile needs Python 3.12 or newer (python3.12 on PATH, or set LASTMILE_PYTHON)." >&2
  exit 1
}

# install_lock LOCKFILE: create .venv if needed and install LOCKFILE (skipped when unchanged).
install_lock() {
  local lock="$1" stamp
  if [ ! -x .venv/bin/python ] || ! python_ok .venv/bin/python; then
    rm -rf .venv
    "$(find_python)" -m venv .venv
  fi
  stamp=".venv/.installed-$(basename "$lock").sha256"
  local want; want="$(cat "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x .venv/bin/lastmile ]; then
    return
  fi
  echo "Installing dependencies from $lock into .venv ..." >&2
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --no-deps -r "$lock"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
}

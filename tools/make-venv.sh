#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment from a Python >= 3.12.
set -euo pipefail
venv=${1:-.venv}

is_ok() { "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; }

pick=""
if [ -x "$venv/bin/python" ] && is_ok "$venv/bin/python"; then
  pick="$venv/bin/python"
else
  for c in ${PYTHON:-} python3.13 python3.12 python3 python \
           "$HOME"/.pyenv/versions/3.13*/bin/python3 "$HOME"/.pyenv/versions/3.12*/bin/python3 \
           /usr/local/bin/python3.13 /usr/local/bin/python3.12 /usr/bin/python3.13 /usr/bin/python3.12; do
    [ -n "$c" ] || continue
    p=$(command -v "$c" 2>/dev/null || true)
    [ -n "$p" ] || continue
    if is_ok "$p"; then pick="$p"; break; fi
  done
  if [ -z "$pick" ]; then
    echo "error: escalation-sim needs Python >= 3.12 (Mesa 3.5 requires it) and none was found." >&2
    echo "       Install one (e.g. 'pyenv install 3.12') or point PYTHON=/path/to/python3.12 at it." >&2
    exit 1
  fi
  echo "creating $venv with $pick ($("$pick" --version))"
  rm -rf "$venv"
  "$pick" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
# Within the versions the tests last ran with (constraints.txt): the same numbers on a
# fresh clone. Where those cannot be installed (another platform or Python, a package
# index without them), the newest releases within pyproject.toml's ranges instead.
if [ -f constraints.txt ] && [ -z "${ESCALATION_SIM_UNPINNED:-}" ]; then
  if ! "$venv/bin/python" -m pip install --quiet -c constraints.txt -e ".[dev]"; then
    echo "note: the versions in constraints.txt do not install here; installing the newest" \
         "releases within pyproject.toml's ranges instead (results may differ in the last bits)" >&2
    "$venv/bin/python" -m pip install --quiet -e ".[dev]"
  fi
else
  "$venv/bin/python" -m pip install --quiet -e ".[dev]"
fi
# Compile the model's kernels once (numba caches them), so first runs and tests start warm.
"$venv/bin/python" -c "from escalation_sim.model.kernels import warm_up; s = warm_up(); print(f'kernels ready ({s:.0f} s)' if s else 'kernels off: numpy path')"

#!/usr/bin/env bash
# Write constraints.txt: the versions installed in the venv now (see tools/make-venv.sh).
set -euo pipefail
venv=${1:-.venv}
py="$venv/bin/python"
version=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
{
  echo "# The versions the tests and benchmarks last ran with (pip constraints, not requirements):"
  echo "# make venv installs within them, so that a fresh clone gets the same numbers and the"
  echo "# benchmarks' figures stay comparable. Refresh with 'make lock' after a dependency"
  echo "# change. Written from Python $version on $(uname -m) $(uname -s)."
  # The project itself and profilers installed by hand are not pinned.
  "$py" -m pip freeze --exclude-editable | grep -v -i -E '^(escalation-sim|line[-_]profiler|pyinstrument)=='
} > constraints.txt.tmp
mv constraints.txt.tmp constraints.txt
echo "wrote constraints.txt ($(grep -c '==' constraints.txt) packages)"

#!/usr/bin/env bash
# The install floors, tested: every direct dependency (pyproject `dependencies` and the `dev` extra) is installed at
# exactly its floor (`name>=X` -> constraint `name==X`; what they pull in resolves to the newest that fits, as for a
# user who has the floor installed), into a venv of its own, and the fast tests run there. torch is installed first,
# pinned to the local CPU build (as in scripts/setup.sh), and the constraints keep it.
# Usage: bash scripts/test_floors.sh [pytest args]. TRENDCAST_FLOORS_VENV=DIR builds (and keeps) the venv in DIR;
# by default it lives in a temporary folder, removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TRENDCAST_FLOORS_VENV:-}"
if [ -z "$venv" ]; then
  tmp="$(mktemp -d)"
  venv="$tmp/venv"
  trap 'rm -rf "$tmp"' EXIT
fi
python3 -m venv "$venv"
. "$venv/bin/activate"
python -m pip install -q --upgrade pip
python -m pip install -q "torch==2.13.0"
floors="$venv/floors.txt"
python - pyproject.toml > "$floors" <<'EOF'
import re
import sys
import tomllib

project = tomllib.load(open(sys.argv[1], "rb"))["project"]
for req in project["dependencies"] + project["optional-dependencies"]["dev"]:
    m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*>=\s*([0-9][^,;\s]*)", req.strip())
    if m is None:
        sys.exit(f"pyproject: {req!r} is not `name>=floor`: say its floor so that this job can test it")
    print(f"{m.group(1)}=={m.group(3)}")
print("torch==2.13.0")
EOF
echo "floors: $(grep -v '^torch' "$floors" | tr '\n' ' ')"
python -m pip install -q -c "$floors" -e ".[dev]"
export HF_HUB_OFFLINE=1
python -m pytest -q -m "not slow" -p no:cacheprovider "$@"

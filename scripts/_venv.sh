# Sourced by the scripts: creates .venv from pyproject.toml once, and again when pyproject.toml changes.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
STAMP="$VENV/.installed-$(sha256sum "$ROOT/pyproject.toml" | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  # (this machine's pip config names local mirrors that may be absent: drop pip's warnings about them)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$ROOT[test,temporal]" \
    2> >(grep -v "^WARNING: Location 'file://" >&2)
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"

# Sourced by scripts/test and scripts/demo: create .venv if needed and install the project
# (with the given extras) only when pyproject.toml or the extras changed.
ensure_venv() {
  local extras="$1"
  local python=${PYTHON:-python3}
  if [ ! -x .venv/bin/python ]; then
    echo "== creating .venv"
    "$python" -m venv .venv
  fi
  local spec="."
  [ -n "$extras" ] && spec=".[$extras]"
  local stamp=".venv/.installed-$(cat pyproject.toml <(echo "$extras") | sha256sum | cut -c1-16)"
  if [ ! -f "$stamp" ]; then
    echo "== installing $spec into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e "$spec"
    touch "$stamp"
  fi
}

#!/usr/bin/env bash
# Creates (or refreshes) the project-local virtualenv .venv from the pinned requirement files given
# as arguments (default: the emulator requirements). Idempotent: a stamp of each file's hash makes a
# second run a no-op, so every task can call it.
set -euo pipefail
cd "$(dirname "$0")/.."
files=("$@")
[ ${#files[@]} -gt 0 ] || files=(test/emulated/emulators/requirements.txt)
python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
  .venv/bin/python -m pip install --quiet --upgrade pip
fi
for f in "${files[@]}"; do
  stamp=".venv/.stamp-$(echo "$f" | tr '/' '_')"
  sum=$(sha256sum "$f" | cut -d' ' -f1)
  if [ "$(cat "$stamp" 2>/dev/null)" != "$sum" ]; then
    echo "setup-venv: installing $f into .venv"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check -r "$f"
    echo "$sum" > "$stamp"
  fi
done

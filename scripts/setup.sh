#!/usr/bin/env bash
# Installs everything cclm needs on a fresh machine, then nothing else:
#   git-lfs from Debian packages when it is missing (the shelf stores archives with it),
#   and cclm itself (editable) with the extras named in $1, e.g. `test`.
# Usage: bash scripts/setup.sh [EXTRAS]
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"

if ! git lfs version >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "Installing git-lfs from Debian packages..."
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq git-lfs >/dev/null
  else
    echo "git-lfs is missing and apt-get is not available: install git-lfs" \
         "(https://git-lfs.com) with your system's package manager, then rerun." >&2
    exit 1
  fi
fi

if [ -n "$extras" ]; then target=".[$extras]"; else target="."; fi
python -m pip install --quiet --disable-pip-version-check -e "$target"

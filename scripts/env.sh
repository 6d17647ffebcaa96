# Sourced by the other scripts: creates the virtualenv once per dependency set, outside the
# clone, and activates it. The key is the hash of requirements.lock and the Python version, so
# a clean clone reuses the cache and only a change of dependencies reinstalls.
set -euo pipefail
STANCEWIRE_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export STANCEWIRE_CACHE=${STANCEWIRE_CACHE:-$HOME/.cache/stancewire}
PYTHON=${PYTHON:-python3}
key=$( { cat "$STANCEWIRE_ROOT/requirements.lock"; "$PYTHON" --version; } | sha256sum | cut -c1-16)
venv="$STANCEWIRE_CACHE/venv-$key"
mkdir -p "$STANCEWIRE_CACHE"
# One creator at a time: a second shell waits for the first instead of racing it.
exec 9>"$venv.lock"
flock 9
if [ ! -f "$venv/.complete" ] || [ ! -x "$venv/bin/python" ]; then
  echo "stancewire: creating the virtualenv $venv (once per dependency set; torch is large)" >&2
  rm -rf "$venv"
  "$PYTHON" -m venv "$venv"
  "$venv/bin/pip" install -q --upgrade pip setuptools wheel
  echo "stancewire: installing requirements.lock (pip shows each download)" >&2
  "$venv/bin/pip" install -r "$STANCEWIRE_ROOT/requirements.lock"
  touch "$venv/.complete"
fi
flock -u 9
# shellcheck disable=SC1091
source "$venv/bin/activate"
# The project itself is installed editable from this clone: quick, and keeps the CLI current.
if ! pip install -q --no-deps --no-build-isolation -e "$STANCEWIRE_ROOT" >"$venv/editable.log" 2>&1; then
  cat "$venv/editable.log" >&2
  exit 1
fi
# Nothing may fetch model weights at run time.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 TOKENIZERS_PARALLELISM=false
cd "$STANCEWIRE_ROOT"

#!/usr/bin/env bash
# Render Swagger UI (/docs) in headless Chromium and save a screenshot, to check by eye that it shows the
# operations (not "Unable to render this definition") with no network beyond this machine: every other
# host is made unresolvable for the browser, so the page only renders if it needs nothing from outside.
#
#   scripts/check-docs.sh [output.png]        (default /tmp/docs.png)
#   PYTHON=/path/to/venv/bin/python PORT=8765 CHROMIUM=chromium scripts/check-docs.sh
#
# Needs Chromium (Debian: apt-get install chromium). Uses a throwaway SQLite database with the demo data.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
PORT=${PORT:-8765}
OUT=$(realpath -m "${1:-/tmp/docs.png}")
CHROMIUM=${CHROMIUM:-$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)}
if [ -z "$CHROMIUM" ]; then echo "check-docs: Chromium not found (apt-get install chromium)" >&2; exit 1; fi

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# `python -m api.cli` (not the installed script) so the code of this checkout is what gets served.
export DATABASE_URL="sqlite:///$work/docs.db"
"$PYTHON" -m api.cli migrate
"$PYTHON" -m api.cli seed-demo --if-empty
"$PYTHON" -m api.cli serve --host 127.0.0.1 --port "$PORT" >"$work/server.log" 2>&1 &
server=$!

for _ in $(seq 1 100); do
  if "$PYTHON" -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/health', timeout=1)" 2>/dev/null; then
    break
  fi
  if ! kill -0 "$server" 2>/dev/null; then cat "$work/server.log" >&2; exit 1; fi
  sleep 0.2
done

"$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --host-resolver-rules="MAP * ~NOTFOUND, EXCLUDE 127.0.0.1" \
  --user-data-dir="$work/profile" --screenshot="$OUT" --window-size=1280,1600 \
  --virtual-time-budget=8000 "http://127.0.0.1:$PORT/docs" 2>"$work/chromium.log"

echo "Screenshot of http://127.0.0.1:$PORT/docs: $OUT (look for the operations, grouped by tag)"

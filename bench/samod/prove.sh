#!/usr/bin/env bash
# Builds samod-server/samod-client and proves them with the JS harness (tests/js/selftest.sh):
#   1. JS client + samod-client converge through bench/js/server-repo2.mjs (samod as B, then as A)
#   2. a JS client pair, then JS + samod, converge through samod-server
# Usage: bash bench/samod/prove.sh        (CARGO_TARGET_DIR defaults to /work/target-bench)
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
BIN="$CARGO_TARGET_DIR/release"
SERVER_PID=""
LOG="$(mktemp)"
trap '[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -f "$LOG"' EXIT

cargo build --release --quiet --manifest-path "$HERE/Cargo.toml"
SELFTEST=(timeout 120 bash "$ROOT/tests/js/selftest.sh")

echo "### 1a. JS (A) + samod (B) through server-repo2"
CLIENT_B="$BIN/samod-client" "${SELFTEST[@]}"
echo "### 1b. samod (A) + JS (B) through server-repo2"
CLIENT_A="$BIN/samod-client" "${SELFTEST[@]}"

PORT=0 "$BIN/samod-server" >"$LOG" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do grep -q '^listening' "$LOG" && break; sleep 0.1; done
PORT="$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$LOG")"
[ -n "$PORT" ] || { echo "samod-server did not start:"; cat "$LOG"; exit 1; }
echo "### 2a. JS pair through samod-server (port $PORT)"
SYNC_URL="ws://127.0.0.1:$PORT/sync?token=t" "${SELFTEST[@]}"
echo "### 2b. JS (A) + samod (B) through samod-server"
SYNC_URL="ws://127.0.0.1:$PORT/sync?token=t" CLIENT_B="$BIN/samod-client" "${SELFTEST[@]}"
echo "prove: all passed"

#!/usr/bin/env bash
# Proves the JS client harness against a real sync server: client A creates a doc (title+body),
# client B finds it by URL, both splice text at the same moment (stdin barrier), both converge
# (same heads, same body). Also checks that an unknown document is reported unavailable.
#
#   bash tests/js/selftest.sh                  # starts bench/js/server-repo2.mjs on a free port
#   SYNC_URL=ws://127.0.0.1:PORT/sync?token=T bash tests/js/selftest.sh   # any running server
#   CLIENT_B=/work/target-bench/release/samod-client bash tests/js/selftest.sh  # B is samod
#   (CLIENT_A / CLIENT_B: any command taking the same JSON scenario; default: node client.mjs)
#
# Everything is bounded: each client has its own deadline and the whole script is killed by
# `timeout` in the commands below. Exits non-zero on any failure.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CLIENT="$HERE/client.mjs"
CLIENT_A="${CLIENT_A:-node $CLIENT}"
CLIENT_B="${CLIENT_B:-node $CLIENT}"
WORK="$(mktemp -d)"
SERVER_PID=""
A_PID=""
B_PID=""
cleanup() {
  exec 3>&- 4>&- 2>/dev/null || true
  for p in $A_PID $B_PID $SERVER_PID; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

[ -d "$HERE/node_modules" ] || (cd "$HERE" && npm ci --no-audit --no-fund >/dev/null)

if [ -z "${SYNC_URL:-}" ]; then
  [ -d "$ROOT/bench/js/node_modules" ] || (cd "$ROOT/bench/js" && npm ci --no-audit --no-fund >/dev/null)
  PORT=0 node "$ROOT/bench/js/server-repo2.mjs" >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 100); do
    grep -q '^listening' "$WORK/server.log" && break
    sleep 0.1
  done
  PORT="$(sed -n 's/^listening 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$WORK/server.log")"
  [ -n "$PORT" ] || { echo "server did not start:"; cat "$WORK/server.log"; exit 1; }
  SYNC_URL="ws://127.0.0.1:$PORT/sync?token=selftest"
  echo "server-repo2 pid $SERVER_PID on $SYNC_URL"
fi

json() { node -e "$1" "${@:2}"; }  # tiny helper: run a node expression with args
last_line() { tail -n 1 "$1"; }

mkfifo "$WORK/a.in" "$WORK/b.in"

# A: create, then wait for "go", append "A-edit", wait until B's edit arrives.
$CLIENT_A "$(cat <<EOF
{"url":"$SYNC_URL","create":{"title":"Selftest","body":"base text."},"timeoutMs":20000,
 "actions":[{"waitSynced":{}},{"print":true},{"waitLine":"go"},
            {"splice":{"path":["body"],"index":"end","text":" A-edit"}},
            {"waitFor":{"path":["body"],"contains":"B-edit"}}]}
EOF
)" <"$WORK/a.in" >"$WORK/a.out" 2>"$WORK/a.err" &
A_PID=$!
exec 3>"$WORK/a.in"

for _ in $(seq 150); do grep -q '"event":"state"' "$WORK/a.out" && break; sleep 0.1; done
URL="$(json 'const l=require("fs").readFileSync(process.argv[1],"utf8").split("\n").find(l=>l.includes("\"created\""));console.log(JSON.parse(l).url)' "$WORK/a.out")"
echo "A ($CLIENT_A) created $URL"

# B: find by URL, wait for "go", insert "B-edit" at the start, wait until A's edit arrives.
$CLIENT_B "$(cat <<EOF
{"url":"$SYNC_URL","doc":"$URL","timeoutMs":20000,
 "actions":[{"waitFor":{"path":["body"],"equals":"base text."}},{"print":true},{"waitLine":"go"},
            {"splice":{"path":["body"],"index":0,"text":"B-edit "}},
            {"waitFor":{"path":["body"],"contains":"A-edit"}}]}
EOF
)" <"$WORK/b.in" >"$WORK/b.out" 2>"$WORK/b.err" &
B_PID=$!
exec 4>"$WORK/b.in"

for _ in $(seq 150); do grep -q '"event":"state"' "$WORK/b.out" && break; sleep 0.1; done
grep -q '"event":"state"' "$WORK/b.out" || { echo "B did not load the doc:"; cat "$WORK/b.out" "$WORK/b.err"; exit 1; }
echo go >&3
echo go >&4

A_RC=0; B_RC=0
wait "$A_PID" || A_RC=$?
wait "$B_PID" || B_RC=$?
A_PID=""; B_PID=""
echo "B is $CLIENT_B"
echo "A rc=$A_RC: $(last_line "$WORK/a.out")"
echo "B rc=$B_RC: $(last_line "$WORK/b.out")"
[ "$A_RC" = 0 ] && [ "$B_RC" = 0 ] || { echo "--- A stderr"; cat "$WORK/a.err"; echo "--- B stderr"; cat "$WORK/b.err"; exit 1; }

json '
const fs = require("fs")
const last = f => JSON.parse(fs.readFileSync(f, "utf8").trim().split("\n").pop())
const a = last(process.argv[1]), b = last(process.argv[2])
const fail = m => { console.log("FAIL: " + m); process.exit(1) }
if (!a.ok || !b.ok) fail("a client did not finish ok")
if (a.heads.join() !== b.heads.join()) fail(`heads differ: ${a.heads} vs ${b.heads}`)
if (a.body !== b.body) fail(`bodies differ: ${JSON.stringify(a.body)} vs ${JSON.stringify(b.body)}`)
if (a.body !== "B-edit base text. A-edit") fail(`unexpected body ${JSON.stringify(a.body)}`)
if (a.title !== "Selftest" || b.title !== "Selftest") fail("title lost")
console.log(`converged: heads ${JSON.stringify(a.heads)} body ${JSON.stringify(a.body)}`)
console.log(a.heads.length === 2 ? "concurrency witnessed: the two edits are both heads"
                                 : "note: edits were not concurrent this run (one head)")
' "$WORK/a.out" "$WORK/b.out"

# An unknown document is reported unavailable (exit 3) instead of hanging.
MISSING="$(cd "$HERE" && node --input-type=module -e 'import {generateAutomergeUrl as g} from "@automerge/automerge-repo"; console.log(g())')"
U_RC=0
node "$CLIENT" "{\"url\":\"$SYNC_URL\",\"doc\":\"$MISSING\",\"timeoutMs\":15000}" >"$WORK/u.out" 2>"$WORK/u.err" || U_RC=$?
echo "unknown doc rc=$U_RC: $(last_line "$WORK/u.out")"
[ "$U_RC" = 3 ] || { echo "FAIL: expected exit 3 (unavailable)"; exit 1; }

echo "selftest: 2 passed, 0 failed"

#!/usr/bin/env bash
# The README's script-free node demo, run as written (its `build/clearnode` replaced by the
# binary under test, its home by a temporary one, and a wait for the inbox to drain after the
# submit line so that the checks below do not depend on timing).
# Usage: CLEARNODE=path/to/clearnode node_demo.sh REPO_DIR
set -euo pipefail
repo=$1
bin=${CLEARNODE:?set CLEARNODE to the clearnode binary}
work=$(mktemp -d)
cleanup() { [ -f "$work/node.pid" ] && kill -KILL "$(cat "$work/node.pid")" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
demo=$repo/fixtures/demo
source "$(dirname "$0")/node_lib.sh"
sed -n '/^build\/clearnode init --home \/tmp\/demo-node/,/^build\/clearnode replay --home \/tmp\/demo-node/p' "$repo/README.md" \
  | sed -e "s|build/clearnode|\"$bin\"|g" -e "s|/tmp/demo-node|$work/node|g" -e "s|fixtures/|$repo/fixtures/|g" \
        -e "/ run --home /a echo \$! > '$work/node.pid'" \
        -e "/ submit /a wait_until 20 inbox_empty '$work/node'" > "$work/demo.sh"
echo 'wait; rm "'"$work"'/node.pid"' >> "$work/demo.sh"  # the node has had its SIGTERM: let it finish
[ "$(grep -c '' "$work/demo.sh")" -ge 7 ] || { echo "FAILED: the README's node demo was not found"; exit 1; }
( source "$work/demo.sh" ) > "$work/out" 2> "$work/err"
failures=0
check() { local name=$1; shift; if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi; }
check "status printed the height and an empty inbox" grep -q '"inbox":0}' "$work/out"
check "the node printed status lines and stopped cleanly" grep -q "stopped at height" "$work/err"
check "replay --verify reproduced every published root" grep -q '"invariants":"ok"' "$work/out"
check "one receipt per demo transaction" \
  test "$(cat "$work"/node/receipts/*.jsonl | grep -c tx_hash)" -eq "$(cat "$demo"/blocks/*.jsonl | grep -vc '"block"')"
[ "$failures" -eq 0 ]

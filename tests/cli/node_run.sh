#!/usr/bin/env bash
# `clearnode run` end to end: files submitted from another process, status while it runs, a
# refused unparsable file, a second node on the same home, a torn inbox file, SIGTERM, then the
# published roots against `clearnode replay --home --verify` of the block log; a torn block
# log tail; export and init --snapshot continuing with the same roots.
# Usage: CLEARNODE=path/to/clearnode node_run.sh FIXTURES_DIR
set -euo pipefail
demo=$1/demo
bin=${CLEARNODE:?set CLEARNODE to the clearnode binary}
work=$(mktemp -d)
node_pid=
cleanup() { [ -n "$node_pid" ] && kill -KILL "$node_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
source "$(dirname "$0")/node_lib.sh"
source "$(dirname "$0")/check_lib.sh"
home=$work/node
starts=0
start_node() { starts=$(started_count); "$bin" run --home "$home" --block-ms "${1:-50}" --log-format json "${@:2}" >> "$work/run.out" 2>> "$work/run.err" & node_pid=$!; }
# Stops the node once it has started (a TERM before its handler is installed is not a clean stop).
stop_node() { local rc=0; wait_until 30 started_more_than "$starts" || true; kill -TERM "$node_pid"; wait "$node_pid" || rc=$?; node_pid=; return $rc; }

for i in 0 1 2 3 4 5 6 7 8; do make_tx_file "$work/txs-$i.jsonl" "$i" 20; done
"$bin" init --home "$home" --genesis "$demo/genesis.json" > /dev/null
start_node
check "status works while the node runs" wait_until 10 bash -c "'$bin' status --home '$home' | grep -q '\"height\":0'"

# Several submitters, one file each, while the node runs.
for i in 0 1 2; do "$bin" submit --home "$home" "$work/txs-$i.jsonl" >> "$work/submitted.jsonl"; done
"$bin" submit --home "$home" "$work/txs-3.jsonl" "$work/txs-4.jsonl" >> "$work/submitted.jsonl"

printf '{"type":"deposit","signer":"%s","nonce":1,"account":"%s","amount":10}\n' "$bridge" "$alice" > "$work/bad.jsonl"
check "submit refuses an unparsable file with exit 2" expect_exit 2 "$bin" submit --home "$home" "$work/txs-5.jsonl" "$work/bad.jsonl"
check "the message names the file, line and field" grep -q "bad.jsonl: line 1: amount" "$work/err"
check "a refused call submits nothing (not even its good files)" test "$(grep -c '' "$work/submitted.jsonl")" -eq 5

check "the node drains the inbox" wait_until 20 inbox_empty "$home"
height_before=$(status_field "$home" height)
check "a second node on the same home is refused" expect_exit 1 "$bin" run --home "$home"
check "  with a message naming the lock" grep -q "in use by another clearnode process" "$work/err"
check "  and the first node keeps every block" test "$(status_field "$home" height)" -ge "$height_before"
check "apply is locked out too" expect_exit 1 "$bin" apply --home "$home" "$demo/blocks/01-deposits.jsonl"

# A torn file put straight into the inbox (not through submit): set aside with its reason.
head -c 150 "$work/txs-5.jsonl" > "$home/inbox/.torn" && mv "$home/inbox/.torn" "$home/inbox/99999999999999999999-torn.jsonl"
check "a torn inbox file is moved to rejected/" wait_until 10 test -f "$home/rejected/99999999999999999999-torn.jsonl"
check "  with the reason beside it" grep -q "line 1" "$home/rejected/99999999999999999999-torn.jsonl.error"
check "  and a clear error from the node" grep -q "error: inbox/99999999999999999999-torn.jsonl: line 1" "$work/run.err"

"$bin" submit --home "$home" "$work/txs-5.jsonl" >> "$work/submitted.jsonl"
check "the node goes on after the torn file" wait_until 20 inbox_empty "$home"
check "SIGTERM: the node commits and exits 0" stop_node

# SIGTERM with a block in progress: the file is admitted, its block not yet due (one a
# minute); the node commits it before it exits.
height_before=$(status_field "$home" height)
start_node 60000
wait_until 10 grep -q "at height $height_before," "$work/run.err"
"$bin" submit --home "$home" "$work/txs-6.jsonl" | tee -a "$work/submitted.jsonl" > "$work/last-submit.json"
name=$(json_field file < "$work/last-submit.json")
wait_until 10 grep -q "$name: taken" "$work/run.err"
check "SIGTERM with a block in progress: exit 0" stop_node
check "  the block was committed" test "$(status_field "$home" height)" -eq $((height_before + 1))
check "  and its file left the inbox" inbox_empty "$home"

check "one status line per block, with its timings" grep -q '"apply_ms":[0-9.]*,"commit_ms":[0-9.]*' "$work/run.out"
check "every submitted transaction has exactly one receipt" every_tx_has_one_receipt "$home" "$work/submitted.jsonl"
in_order() {
  grep -o '"tx_hashes":\[[^]]*\]' "$work/submitted.jsonl" | grep -o '[0-9a-f]\{64\}' > "$work/order.submitted"
  cat "$home"/receipts/*.jsonl | grep '"admission":true' | grep -o '"tx_hash":"[0-9a-f]*"' | cut -d'"' -f4 > "$work/order.refused"
  cat "$home"/receipts/*.jsonl | grep '"index"' | grep -o '"tx_hash":"[0-9a-f]*"' | cut -d'"' -f4 > "$work/order.blocks"
  [ -s "$work/order.blocks" ] && grep -vxFf "$work/order.refused" "$work/order.submitted" | diff -q - "$work/order.blocks" > /dev/null
}
check "admitted transactions keep their submission order in the blocks" in_order
check "refused at admission: a receipt, and never in a block" \
  bash -c "grep -h '\"admission\":true' '$home'/receipts/*.jsonl | grep -c not_authorized | grep -qx 7"
check "rejected in a block: bad_amount receipts" bash -c "grep -h '\"index\"' '$home'/receipts/*.jsonl | grep -c bad_amount | grep -qx 7"

# Receipts files derive from the block log: lost ones (a crash between a commit and its file)
# come back from it at start, byte for byte, admission refusals among them.
mkdir "$work/receipts-kept" && mv "$home"/receipts/*.jsonl "$work/receipts-kept/"
start_node
check "a start with every receipts file lost: exit 0" stop_node
check "  each comes back from the block log, byte for byte" diff -r "$work/receipts-kept" "$home/receipts"

"$bin" replay --home "$home" --verify > "$work/verify.json"
check "replay --verify: every published root reproduced, I1-I3 hold" grep -q '"invariants":"ok"' "$work/verify.json"
"$bin" replay --home "$home" | sed 's/,"txs".*//' > "$work/replayed.roots"
sed 's/,"txs".*//' "$work/run.out" > "$work/published.roots"
check "replay of the block log reproduces each status line's hash and root" diff -u "$work/published.roots" "$work/replayed.roots"
"$bin" blocks --home "$home" --out-dir "$work/blocks" > /dev/null
"$bin" replay --genesis "$home/genesis.json" "$work/blocks"/*.jsonl | sed 's/,"txs".*//' > "$work/from-files.roots"
check "the log as block files replays to the same roots (replay --genesis)" diff -u "$work/published.roots" "$work/from-files.roots"
final_root=$(status_field "$home" state_root)
check "the final state is the replay's" grep -q "\"state_root\":\"$final_root\"" "$work/verify.json"

# Export at this height; a new node from the snapshot continues with the same roots.
"$bin" export --home "$home" --out "$work/snap.bin" > "$work/export.json"
"$bin" init --home "$work/node2" --snapshot "$work/snap.bin" > "$work/init2.json"
check "init --snapshot starts at the exported height and root" \
  test "$(json_field state_root < "$work/init2.json")" = "$final_root"
"$bin" apply --home "$home" "$work/txs-8.jsonl" > "$work/next1.json"
"$bin" apply --home "$work/node2" "$work/txs-8.jsonl" > "$work/next2.json"
check "both nodes continue with the same block hash and root" diff -u "$work/next1.json" "$work/next2.json"
check "the snapshot node's block log replays from its snapshot" \
  bash -c "'$bin' replay --home '$work/node2' --verify | grep -q '\"invariants\":\"ok\"'"
head -c 200 "$work/snap.bin" > "$work/torn-snap.bin"
check "a torn snapshot is refused" expect_exit 2 "$bin" init --home "$work/node3" --snapshot "$work/torn-snap.bin"
check "  clearly" grep -q "torn" "$work/err"

# A torn block log tail: the node is killed, and its log's last write is cut (the bytes of a
# write that never completed). It restarts at its last whole block and keeps every other one.
start_node
"$bin" submit --home "$home" "$work/txs-7.jsonl" > /dev/null
wait_until 20 inbox_empty "$home"
kill -KILL "$node_pid"; { wait "$node_pid"; } 2>/dev/null || true; node_pid=
height_killed=$(status_field "$home" height)
wal=$(ls -t "$home"/state/*.log | head -1)
printf '\x13\x37partial-record-of-a-write-that-never-finished' >> "$wal"
# What an operator runs after a crash: rehash the state before the first block (small caches
# too: they bound memory, not results).
start_node 50 --verify-state --cache-mb 16 --record-cache-mb 0
check "after a torn log tail the node starts again, its state rehashed" wait_until 10 grep -q "at height $height_killed," "$work/run.err"
check "  having lost no committed block" test "$(status_field "$home" height)" -eq "$height_killed"
check "  and stops cleanly" stop_node
check "  and its block log still replays to every published root" \
  bash -c "'$bin' replay --home '$home' --verify | grep -q '\"invariants\":\"ok\"'"

# A committed transaction sent again is refused at admission. One that spent its signer's
# nonce, by the nonce window (nonce_used); one refused in its block before the rules spent no
# nonce, and the transaction index refuses it (duplicate): else it would apply now that its
# signer has an account. Here dave's transfer meets no account in its block (the deposit
# before it is rejected), and the deposit after it opens one.
dave=$(pub dave)
{
  printf '{"type":"deposit","signer":"%s","nonce":5001,"account":"%s","amount":"-1"}\n' "$bridge" "$dave"
  printf '{"type":"transfer","signer":"%s","nonce":1,"to":"%s","amount":"0.01"}\n' "$dave" "$bob"
  printf '{"type":"deposit","signer":"%s","nonce":5002,"account":"%s","amount":"10"}\n' "$bridge" "$dave"
} | "$bin" sign --genesis "$demo/genesis.json" --key "$demo/keys/bridge.json" --key "$demo/keys/dave.json" > "$work/dave.jsonl"
sed -n 2,3p "$work/dave.jsonl" > "$work/dave-again.jsonl"
start_node
"$bin" submit --home "$home" "$work/dave.jsonl" > /dev/null
wait_until 20 inbox_empty "$home"
"$bin" submit --home "$home" "$work/dave-again.jsonl" > "$work/again-submit.json"
wait_until 20 inbox_empty "$home"
check "sent again: the node stops cleanly" stop_node
hashes=($(grep -o '[0-9a-f]\{64\}' "$work/again-submit.json"))
# receipts_of HASH [PATTERN]: how many receipt lines are for HASH (and match PATTERN).
receipts_of() { cat "$home"/receipts/*.jsonl | grep "\"tx_hash\":\"$1\"" | grep -c -- "${2:-.}" || true; }
equal() { [ "$1" = "$2" ] || { echo "  $1, wanted $2"; return 1; }; }
check "the transfer was rejected in its block before the rules" \
  equal "$(receipts_of "${hashes[0]}" '"index":.*"status":"unknown_account"')" 1
check "  sent again it is refused as duplicate, not applied" \
  equal "$(receipts_of "${hashes[0]}" '"status":"duplicate".*"admission":true')" 1
check "a committed deposit sent again is refused by its spent nonce" \
  equal "$(receipts_of "${hashes[1]}" '"status":"nonce_used".*"admission":true')" 1
check "  each of the two has its two receipts, no more" equal "$(( $(receipts_of "${hashes[0]}") + $(receipts_of "${hashes[1]}") ))" 4

echo "node run checks: $failures failed"
[ "$failures" -eq 0 ]

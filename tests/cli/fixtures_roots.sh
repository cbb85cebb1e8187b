#!/usr/bin/env bash
# The demo fixtures through the real binary: `replay` (memory) and `apply` (RocksDB) must both
# reproduce fixtures/demo/expected_roots.jsonl; bad input must exit 2 and change nothing.
# Usage: CLEARNODE=path/to/clearnode fixtures_roots.sh FIXTURES_DIR
set -euo pipefail
fixtures=$1
demo=$fixtures/demo
bin=${CLEARNODE:?set CLEARNODE to the clearnode binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
source "$(dirname "$0")/check_lib.sh"

blocks=("$demo"/blocks/*.jsonl)

"$bin" replay --genesis "$demo/genesis.json" "${blocks[@]}" > "$work/replay.jsonl"
check "replay reproduces the expected roots" diff -u "$demo/expected_roots.jsonl" "$work/replay.jsonl"

"$bin" init --home "$work/node" --genesis "$demo/genesis.json" > "$work/init.json"
check "init prints height 0 and a root" grep -q '"height":0,"state_root":"[0-9a-f]\{64\}"' "$work/init.json"
"$bin" apply --home "$work/node" --receipts "$work/receipts.jsonl" "${blocks[@]}" > "$work/apply.jsonl"
check "apply (RocksDB) reproduces the expected roots" diff -u "$demo/expected_roots.jsonl" "$work/apply.jsonl"
txs=$(grep -vc '"block"' "${blocks[@]}" | awk -F: '{s+=$2} END {print s}')
check "one receipt per transaction" test "$(wc -l < "$work/receipts.jsonl")" -eq "$txs"

"$bin" query --home "$work/node" state > "$work/state-before.json"
printf '{"type":"deposit","signer":"00"}\n' > "$work/bad.jsonl"
sed -n 1,3p "${blocks[0]}" > "$work/torn.jsonl"; printf '{"type": "deposit", "sig' >> "$work/torn.jsonl"
check "a malformed file exits 2" expect_exit 2 "$bin" apply --home "$work/node" "$work/bad.jsonl"
check "the error names the file, line and field" grep -q "bad.jsonl: line 1: signer" "$work/err"
check "a torn file exits 2 even after a good one" expect_exit 2 "$bin" apply --home "$work/node" "${blocks[0]}" "$work/torn.jsonl"
"$bin" query --home "$work/node" state > "$work/state-after.json"
check "bad input leaves the database untouched" diff -u "$work/state-before.json" "$work/state-after.json"

check "init refuses a non-empty directory" expect_exit 2 "$bin" init --home "$work/node" --genesis "$demo/genesis.json"
check "keygen refuses to overwrite" expect_exit 2 "$bin" keygen --out "$demo/keys/alice.json"
"$bin" keygen --out "$work/new-key.json" > /dev/null
check "keygen writes mode 0600" test "$(stat -c %a "$work/new-key.json")" = 600

# Signing is deterministic (Ed25519): re-signing a signed block gives the same bytes.
keys=(); for k in "$demo"/keys/*.json; do keys+=(--key "$k"); done
"$bin" sign --genesis "$demo/genesis.json" "${keys[@]}" < "${blocks[0]}" > "$work/resigned.jsonl"
check "sign is deterministic and idempotent" diff -u "${blocks[0]}" "$work/resigned.jsonl"

alice=$(sed -n 's/.*"public":"\([0-9a-f]*\)".*/\1/p' "$demo/keys/alice.json")
"$bin" query --home "$work/node" account "$alice" > "$work/alice.json"
check "query account prints collateral as a decimal string" grep -q '"collateral":"[0-9.]*"' "$work/alice.json"
check "query account prints the margin figures" grep -q '"account_value":"[0-9.-]*","initial_margin":"[0-9.]*","maintenance_margin":"[0-9.]*","transfer_requirement":"[0-9.]*","withdrawable":"[0-9.]*"' "$work/alice.json"
check "  and each position's liquidation price" grep -q '"liquidation_price":"[0-9.]*"' "$work/alice.json"
"$bin" query --home "$work/node" state > "$work/state.json"
check "query state prints each market's funding index and pool" grep -q '"funding_index":"[0-9-]*","funding_pool":"[0-9.-]*"' "$work/state.json"
# The keepers' view: just before the crash block's first liquidation, every §9 case is listed.
crash=$demo/blocks/06-crash.jsonl
first_liquidation=$(grep -n '"type":"liquidate"' "$crash" | head -1 | cut -d: -f1)
"$bin" init --home "$work/keeper" --genesis "$demo/genesis.json" > /dev/null
"$bin" apply --home "$work/keeper" --verify-state --cache-mb 8 --record-cache-mb 0 "${blocks[@]:0:5}" > "$work/keeper.jsonl"
check "apply's start options (a rehash, small caches) change no root" diff -u <(head -5 "$demo/expected_roots.jsonl") "$work/keeper.jsonl"
head -n $((first_liquidation - 1)) "$crash" > "$work/before-crash.jsonl"
"$bin" apply --home "$work/keeper" "$work/before-crash.jsonl" > /dev/null
"$bin" query --home "$work/keeper" liquidatable > "$work/liquidatable.jsonl"
for case in keeper backstop bankrupt adl; do
  check "query liquidatable lists a $case case before the crash" grep -q "\"case\":\"$case\"" "$work/liquidatable.jsonl"
done
check "query liquidatable marks the account that needs ADL" grep -q '"case":"adl","needs_adl":true' "$work/liquidatable.jsonl"
check "query liquidatable is empty on a healthy state" test ! -s "$(
  "$bin" query --home "$work/node" liquidatable > "$work/none.jsonl"; echo "$work/none.jsonl")"
"$bin" query --home "$work/keeper" adl-queue BTC long > "$work/queue.jsonl"
ranks=$(sed -n 's/.*"rank":\([0-9]*\).*/\1/p' "$work/queue.jsonl" | tr '\n' ' ')
check "query adl-queue ranks the long holders 1, 2, 3, ..." test "$ranks" = "$(seq -s ' ' 1 "$(wc -l < "$work/queue.jsonl")") "
check "query adl-queue is not empty before the crash" test -s "$work/queue.jsonl"
check "query adl-queue refuses an unknown side" expect_exit 2 "$bin" query --home "$work/keeper" adl-queue BTC up
check "query of an unknown account exits 2" expect_exit 2 "$bin" query --home "$work/node" account "$(printf '%064d' 0)"

echo "cli checks: $failures failed"
[ "$failures" -eq 0 ]

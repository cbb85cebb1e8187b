#!/usr/bin/env bash
# `clearnode bench` with tiny sizes: it runs to the end and its JSON has every field the issue
# names. No timing is asserted (speed is measured, never tested).
# Usage: CLEARNODE=path/to/clearnode ALLOCATOR=jemalloc|system bench_smoke.sh
set -euo pipefail
bin=${CLEARNODE:?set CLEARNODE to the clearnode binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

"$bin" bench --accounts 20 --txs 60 --block-txs 10 --threads 2 --mix deposit,withdraw,transfer:2,open:2 --json \
  --dir "$work" > "$work/out.json"
[ "$(wc -l < "$work/out.json")" -eq 1 ] || { echo "FAILED: not one line"; failures=$((failures + 1)); }
grep -q '^{.*}$' "$work/out.json" || { echo "FAILED: not one JSON object"; failures=$((failures + 1)); }
for field in verify_limit_tps rocksdb_put_limit_per_s signed_tps signed_ratio preverified_tps preverified_ratio \
             apply_only_tps root_update_us_per_tx commit_ms_p50 commit_ms_p99 peak_rss_mb disk_bytes_per_account \
             open_ms verify_state_ms verify_per_s_before verify_per_s_after record_cache_entries record_cache_used_mb \
             verify_cpu_us signed_cpu_us_per_tx signed_cpu_busy preverified_cpu_us_per_tx \
             signed_cpu_verifications_per_tx preverified_cpu_verifications_per_tx signed_entries_per_tx \
             signed_verify_cpu_us signed_verify_cpu_share signed_beside_verify_cpu_us_per_tx; do
  grep -q "\"$field\":[0-9]" "$work/out.json" || { echo "FAILED: field $field"; failures=$((failures + 1)); }
done
# CPU in verifications is the run's CPU per transaction over one verification's CPU.
field() { grep -oE "\"$1\":-?[0-9.eE+-]+" "$work/out.json" | cut -d: -f2; }
for run in signed preverified; do
  awk -v q="$(field ${run}_cpu_verifications_per_tx)" -v cpu="$(field ${run}_cpu_us_per_tx)" -v v="$(field verify_cpu_us)" \
    'BEGIN { d = q * v - cpu; exit !(v > 0 && cpu > 0 && d * d <= 1e-12 * cpu * cpu) }' \
    || { echo "FAILED: ${run}_cpu_verifications_per_tx is not ${run}_cpu_us_per_tx / verify_cpu_us"; failures=$((failures + 1)); }
done
# The verification tasks' CPU is a part of the run's: a share above 0 and at most 1.
awk -v share="$(field signed_verify_cpu_share)" 'BEGIN { exit !(share > 0 && share <= 1) }' \
  || { echo "FAILED: signed_verify_cpu_share is not in (0, 1]"; failures=$((failures + 1)); }
# A difference of two measurements: at tiny sizes it may come out below zero.
grep -qE '"signed_other_cpu_us_per_tx":-?[0-9]' "$work/out.json" \
  || { echo "FAILED: field signed_other_cpu_us_per_tx"; failures=$((failures + 1)); }
# The binary runs on the malloc the build chose (a link that dropped jemalloc would not).
grep -q "\"allocator\":\"${ALLOCATOR:?set ALLOCATOR to jemalloc or system}" "$work/out.json" \
  || { echo "FAILED: allocator is not $ALLOCATOR"; failures=$((failures + 1)); }
# On jemalloc, with the binary's own options (node/jemalloc_options.cpp): freed pages are kept.
if [ "$ALLOCATOR" = jemalloc ]; then
  grep -q '"allocator":"jemalloc [^"]* dirty_decay_ms -1"' "$work/out.json" \
    || { echo "FAILED: jemalloc does not run with node/jemalloc_options.cpp"; failures=$((failures + 1)); }
fi
grep -q '"rejected":{}' "$work/out.json" || { echo "FAILED: the workload had rejections"; failures=$((failures + 1)); }
# The signed run writes the block log by default: three entries a block (the block, its
# receipts, its meta) beside the same state entries as without it, and no transaction index
# entry (every transaction spends its nonce: none is rejected), so 3/10 entries a transaction
# more at ten a block (the workload is the same both times).
grep -q '"block_log":true' "$work/out.json" || { echo "FAILED: block_log is not on by default"; failures=$((failures + 1)); }
with_log=$(field signed_entries_per_tx)
"$bin" bench --accounts 20 --txs 60 --block-txs 10 --threads 2 --mix deposit,withdraw,transfer:2,open:2 --no-block-log \
  --json --dir "$work" > "$work/out.json"
grep -q '"block_log":false' "$work/out.json" || { echo "FAILED: --no-block-log"; failures=$((failures + 1)); }
awk -v a="$with_log" -v b="$(field signed_entries_per_tx)" 'BEGIN { d = a - b - 0.3; exit !(d * d < 1e-12) }' \
  || { echo "FAILED: the block log's entries are not 0.3 a transaction ($with_log with it)"; failures=$((failures + 1)); }
[ -z "$(ls -A "$work" | grep -v out.json)" ] || { echo "FAILED: the work directory was left behind"; failures=$((failures + 1)); }

code=0; "$bin" bench --mix deposit,frobnicate > /dev/null 2> "$work/err" || code=$?
[ "$code" -eq 2 ] && grep -q 'unknown transaction type "frobnicate"' "$work/err" || { echo "FAILED: bad --mix"; failures=$((failures + 1)); }

echo "bench smoke: $failures failed"
[ "$failures" -eq 0 ]

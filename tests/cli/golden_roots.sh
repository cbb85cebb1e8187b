#!/usr/bin/env bash
# RULES §10 I4: every scenario of fixtures/golden/ (a genesis, generated block files and the
# roots after each block) must be reproduced bit for bit by this build, in memory (`replay`)
# and on RocksDB (`apply`, 2 verification threads).
# Usage: CLEARNODE=path/to/clearnode golden_roots.sh GOLDEN_DIR
set -euo pipefail
golden=$1
bin=${CLEARNODE:?set CLEARNODE to the clearnode binary}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
scenarios=0
for dir in "$golden"/*/; do
  [ -f "$dir/expected_roots.jsonl" ] || continue
  name=$(basename "$dir")
  scenarios=$((scenarios + 1))
  blocks=("$dir"/blocks/*.jsonl)
  if "$bin" replay --genesis "$dir/genesis.json" "${blocks[@]}" > "$work/$name-replay.jsonl" &&
     diff -u "$dir/expected_roots.jsonl" "$work/$name-replay.jsonl"; then
    echo "ok: $name: replay (memory) reproduces ${#blocks[@]} roots"
  else
    echo "FAILED: $name: replay"; failures=$((failures + 1))
  fi
  "$bin" init --home "$work/$name-node" --genesis "$dir/genesis.json" > /dev/null
  if "$bin" apply --home "$work/$name-node" --verify-threads 2 "${blocks[@]}" > "$work/$name-apply.jsonl" &&
     diff -u "$dir/expected_roots.jsonl" "$work/$name-apply.jsonl"; then
    echo "ok: $name: apply (RocksDB, 2 threads) reproduces ${#blocks[@]} roots"
  else
    echo "FAILED: $name: apply"; failures=$((failures + 1))
  fi
done
[ "$scenarios" -gt 0 ] || { echo "FAILED: no golden scenarios under $golden"; exit 1; }
[ "$failures" -eq 0 ]

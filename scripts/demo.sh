#!/usr/bin/env bash
# The demo of the README: installs what is missing, builds, creates a node from the demo
# genesis in fixtures/, applies the demo blocks and prints each block's root, then the state.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/install-deps.sh"
bash "$root/scripts/build.sh"
clearnode=${BUILD_DIR:-$root/build}/clearnode
demo=$root/fixtures/demo
home=$(mktemp -d)/node
echo "== clearnode init --home $home --genesis fixtures/demo/genesis.json"
"$clearnode" init --home "$home" --genesis "$demo/genesis.json"
echo "== clearnode apply --home $home fixtures/demo/blocks/*.jsonl"
"$clearnode" apply --home "$home" --receipts "$home/receipts.jsonl" "$demo"/blocks/*.jsonl
echo "== the roots every honest node must reproduce (fixtures/demo/expected_roots.jsonl):"
if diff -q "$demo/expected_roots.jsonl" <("$clearnode" replay --genesis "$demo/genesis.json" "$demo"/blocks/*.jsonl) > /dev/null; then
  echo "replay in memory: identical"
else
  echo "replay in memory: DIFFERENT" >&2; exit 1
fi
key_of() { sed -n 's/.*"public":"\([0-9a-f]*\)".*/\1/p' "$demo/keys/$1.json"; }
# alice: cross BTC long and SOL short, after a withdrawal refused for margin; carol: an isolated
# ETH long she topped up. Margin figures: account value, IM, MM, transfer requirement,
# withdrawable, and per position upnl, funding owed, IM, MM and the liquidation price.
for who in alice carol; do
  echo "== clearnode query --home $home account <$who>"
  "$clearnode" query --home "$home" account "$(key_of "$who")"
done
echo "== clearnode query --home $home state"
"$clearnode" query --home "$home" state
echo "receipts: $home/receipts.jsonl"

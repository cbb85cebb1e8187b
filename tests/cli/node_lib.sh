# Shared by the node tests: signed transaction files from the demo keys, and small helpers.
# Sourced with $bin (the clearnode binary), $demo (fixtures/demo) and $work set.

pub() { sed -n 's/.*"public":"\([0-9a-f]*\)".*/\1/p' "$demo/keys/$1.json"; }
bridge=$(pub bridge); alice=$(pub alice); bob=$(pub bob); carol=$(pub carol)

# make_tx_file OUT INDEX PER_FILE: deposits from the bridge, transfers from alice, and in every
# file one deposit signed by alice (refused at admission: not_authorized) and one transfer of a
# negative amount (in the block, rejected: bad_amount). Nonces rise with INDEX, so files
# applied in submission order are valid; every transaction has its own hash.
make_tx_file() {
  local out=$1 index=$2 per=$3 j base
  base=$((index * per + 1))
  {
    for ((j = 0; j < per; j++)); do
      case $((j % 4)) in
        0|1) printf '{"type":"deposit","signer":"%s","nonce":%d,"account":"%s","amount":"10"}\n' "$bridge" $((base + j)) "$alice" ;;
        2) printf '{"type":"transfer","signer":"%s","nonce":%d,"to":"%s","amount":"0.01"}\n' "$alice" $((base + j)) "$bob" ;;
        3) printf '{"type":"transfer","signer":"%s","nonce":%d,"to":"%s","amount":"0.02"}\n' "$alice" $((base + j)) "$carol" ;;
      esac
    done
    printf '{"type":"deposit","signer":"%s","nonce":%d,"account":"%s","amount":"1"}\n' "$alice" $((base + per)) "$alice"
    printf '{"type":"transfer","signer":"%s","nonce":%d,"to":"%s","amount":"-1"}\n' "$alice" $((base + per + 1)) "$bob"
  } | "$bin" sign --genesis "$demo/genesis.json" --key "$demo/keys/bridge.json" --key "$demo/keys/alice.json" > "$out"
}

# wait_until SECONDS COMMAND...: polls COMMAND every 50 ms; fails after SECONDS.
wait_until() {
  local limit=$1; shift
  local deadline=$((SECONDS + limit))
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.05
  done
}

json_field() { sed -n "s/.*\"$1\":\"\\{0,1\\}\\([^\",}]*\\).*/\\1/p"; }
status_field() { "$bin" status --home "$1" | json_field "$2"; }
inbox_empty() { [ "$(status_field "$1" inbox)" = 0 ]; }

# every_tx_has_one_receipt HOME SUBMITTED_LOG: each hash that `submit` printed appears in
# exactly one receipt line, and no receipt is for anything else.
every_tx_has_one_receipt() {
  local home=$1 submitted=$2
  grep -o '"tx_hashes":\[[^]]*\]' "$submitted" | grep -o '[0-9a-f]\{64\}' | sort > "$work/submitted.hashes"
  cat "$home"/receipts/*.jsonl | grep -o '"tx_hash":"[0-9a-f]*"' | grep -o '[0-9a-f]\{64\}' | sort > "$work/receipted.hashes"
  if ! diff -q "$work/submitted.hashes" "$work/receipted.hashes" > /dev/null; then
    echo "  submitted $(wc -l < "$work/submitted.hashes"), receipts $(wc -l < "$work/receipted.hashes"), unique receipts $(sort -u "$work/receipted.hashes" | wc -l)"
    diff "$work/submitted.hashes" "$work/receipted.hashes" | head -5
    return 1
  fi
  [ "$(sort -u "$work/submitted.hashes" | wc -l)" -eq "$(wc -l < "$work/submitted.hashes")" ]
}

# How many times a node has opened its state in this test: from its "at height" line on, its
# SIGTERM handler is in place (a TERM sent before that ends it with 143 instead of a clean stop).
started_count() { [ -f "$work/run.err" ] || { echo 0; return; }; grep -c 'clearnode run: .* at height' "$work/run.err" || true; }
started_more_than() { [ "$(started_count)" -gt "$1" ]; }

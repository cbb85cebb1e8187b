#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ (clang-14, -fsanitize=fuzzer,address,undefined)
# into build-fuzz/ and runs each for SECONDS (default 60), two at a time. Any crash, sanitizer
# report or broken property fails the run; the input that caused it is kept in the work
# directory (printed) as crash-*. The seed corpus of tests/fuzz/corpus/ is read, never written.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   (targets: codec decimal apply backends)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}; shift || true
targets=("$@"); [ ${#targets[@]} -gt 0 ] || targets=(codec decimal apply backends)
CLEARNODE_WITH_CLANG=1 bash "$root/scripts/install-deps.sh"
build=${FUZZ_BUILD_DIR:-$root/build-fuzz}
CXX=clang++-14 cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCLEARNODE_FUZZ=ON -DCLEARNODE_SANITIZE=ON > /dev/null
cmake --build "$build" --parallel "$(nproc)" --target "${targets[@]/#/fuzz_}"
work=${FUZZ_WORK_DIR:-$(mktemp -d)}
echo "fuzz work directory (new corpus entries, crash inputs, logs): $work"
run() { # target
  local t=$1
  mkdir -p "$work/$t"
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/$t-" "$work/$t" "$root/tests/fuzz/corpus/$t" > "$work/$t.log" 2>&1
}
failures=0
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  pids=(); names=()
  for t in "${targets[@]:i:2}"; do run "$t" & pids+=($!); names+=("$t"); done
  for j in "${!pids[@]}"; do
    t=${names[$j]}
    if wait "${pids[$j]}"; then
      echo "ok: fuzz_$t ran ${seconds}s: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$work/$t.log" | grep -o '[0-9]*$') inputs, no crash"
    else
      echo "FAILED: fuzz_$t (log: $work/$t.log)"; tail -40 "$work/$t.log"; failures=$((failures + 1))
    fi
  done
done
[ "$failures" -eq 0 ]

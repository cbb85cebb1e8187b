#!/usr/bin/env bash
# The determinism lint (RULES §10 I4, docs/DESIGN.md): what consensus code must never do.
#   ledger/ state/ clearing/   no float, double or long double; no unordered containers
#                              (their iteration order is the library's, and could reach a
#                              hash, a root or output) and no std::hash, unless the line says
#                              "lint: lookup-only" and why; every for_each_unordered call
#                              (state/account_slots.hpp, hash order) says "order-free"
#   clearing/                  no clock, random source, environment, file or thread access
#   tests/scenario.*           no <random> distributions (implementation-defined output)
# Comments and string literals are not code: they are stripped before matching.
# Usage: scripts/lint-determinism.sh [ROOT]; exit 1 and one line per finding when it fails.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$root"
findings=0

# Prints "file:line:code" with comments and string literals blanked, for the given files.
code_lines() {
  for f in "$@"; do
    sed -E -e 's/"([^"\\]|\\.)*"/""/g' -e 's:/\*.*\*/::g' -e 's://.*$::' "$f" | awk -v f="$f" '{print f ":" NR ":" $0}'
  done
}

check() { # description, extended regex, files...
  local what=$1 pattern=$2; shift 2
  [ $# -gt 0 ] || return 0
  local hits
  hits=$(code_lines "$@" | grep -E -- "$pattern" || true)
  if [ -n "$hits" ]; then
    while IFS= read -r line; do echo "${line%%:*}:$(echo "$line" | cut -d: -f2): $what"; done <<< "$hits"
    findings=$((findings + $(wc -l <<< "$hits")))
  fi
}

sources() { find "$@" -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' -o -name '*.cc' \) 2>/dev/null | sort; }

mapfile -t consensus < <(sources ledger state clearing)
mapfile -t clearing < <(sources clearing)
mapfile -t scenario < <(find tests -maxdepth 1 -name 'scenario*' -type f 2>/dev/null | sort)

check "floating point in consensus code" '(^|[^[:alnum:]_])(float|double)([^[:alnum:]_]|$)' "${consensus[@]}"
# Unordered containers: lines marked "lint: lookup-only" (a reason must follow) are exempt.
if [ ${#consensus[@]} -gt 0 ]; then
  marked_hits=$(grep -nE 'unordered_(map|set|multimap|multiset)|std::hash' "${consensus[@]}" /dev/null | grep -v "lint: lookup-only" || true)
  if [ -n "$marked_hits" ]; then
    while IFS= read -r line; do
      file=${line%%:*}; rest=${line#*:}; n=${rest%%:*}
      code=$(sed -n "${n}p" "$file" | sed -E -e 's/"([^"\\]|\\.)*"/""/g' -e 's://.*$::')
      if grep -qE 'unordered_(map|set|multimap|multiset)|std::hash' <<< "$code"; then
        echo "$file:$n: unordered container or std::hash in consensus code (mark lookup-only uses)"
        findings=$((findings + 1))
      fi
    done <<< "$marked_hits"
  fi
fi
# AccountSlots iterates in the order of a hash keyed at random per process: each call says why
# that order cannot matter.
if [ ${#consensus[@]} -gt 0 ]; then
  unmarked=$(grep -nE 'for_each_unordered[[:space:]]*\(' "${consensus[@]}" /dev/null | grep -v 'order-free' |
             grep -vE '^[^:]+:[0-9]+:[[:space:]]*(//|void for_each_unordered)' || true)
  if [ -n "$unmarked" ]; then
    while IFS= read -r line; do
      echo "$(cut -d: -f1,2 <<< "$line"): for_each_unordered without an order-free note"
      findings=$((findings + 1))
    done <<< "$unmarked"
  fi
fi
check "clock access in clearing/" '<chrono>|<ctime>|<time\.h>|std::chrono|(^|[^[:alnum:]_.>])(time|clock|clock_gettime|gettimeofday|localtime|gmtime)[[:space:]]*\(' "${clearing[@]}"
check "random source in clearing/" '<random>|(^|[^[:alnum:]_])(rand|srand|random|arc4random|getrandom|randombytes_[a-z_]+)[[:space:]]*\(|random_device|mt19937|_distribution' "${clearing[@]}"
check "environment access in clearing/" '(^|[^[:alnum:]_])(getenv|secure_getenv|setenv|putenv)[[:space:]]*\(|(^|[^[:alnum:]_])environ([^[:alnum:]_]|$)' "${clearing[@]}"
check "file or thread access in clearing/" '<fstream>|<filesystem>|<cstdio>|<thread>|std::(ifstream|ofstream|fstream|filesystem|thread|async)|(^|[^[:alnum:]_])(fopen|freopen|popen|opendir)[[:space:]]*\(' "${clearing[@]}"
check "implementation-defined random distributions in the scenario generator" '<random>|_distribution|random_device|mt19937|(^|[^[:alnum:]_])rand[[:space:]]*\(' "${scenario[@]}"

if [ "$findings" -gt 0 ]; then
  echo "determinism lint: $findings finding(s)" >&2
  exit 1
fi
echo "determinism lint: clean (${#consensus[@]} consensus files, ${#clearing[@]} in clearing/)"

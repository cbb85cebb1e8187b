#!/usr/bin/env bash
# The determinism lint passes on the repository and catches each rule on planted code.
# Usage: lint_test.sh LINT ROOT
set -euo pipefail
lint=$1 root=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
bash "$lint" "$root" > "$work/out" || { echo "FAILED: the repository is not clean:"; cat "$work/out"; failures=$((failures + 1)); }
mkdir -p "$work/tree/ledger" "$work/tree/state" "$work/tree/clearing" "$work/tree/tests"
cat > "$work/tree/ledger/ok.cpp" <<'CPP'
// A double-entry comment may say float, double, time(), getenv() and unordered_map.
const char* text = "double float getenv() std::unordered_map";
std::map<int, int> ordered;  // ordered containers are fine
int64_t timeout_ms = 0; int runtime(int); int doubled = 2;
CPP
plant() { # file, code, what the lint must say
  printf '%s\n' "$2" > "$work/tree/$1"
  if bash "$lint" "$work/tree" > "$work/out" 2>&1; then
    echo "FAILED: the lint missed $3 in $1"; failures=$((failures + 1))
  elif ! grep -q "$1:1: $3" "$work/out"; then
    echo "FAILED: wrong finding for $1:"; cat "$work/out"; failures=$((failures + 1))
  else
    echo "ok: caught $3"
  fi
  rm -f "$work/tree/$1"
}
bash "$lint" "$work/tree" > "$work/out" || { echo "FAILED: comments, strings and lookalikes flagged:"; cat "$work/out"; failures=$((failures + 1)); }
plant ledger/a.cpp 'double price = 1.5;' "floating point in consensus code"
plant state/b.hpp 'float x;' "floating point in consensus code"
plant clearing/c.cpp 'long double y;' "floating point in consensus code"
plant state/d.cpp 'std::unordered_map<std::string, int> m;' "unordered container"
plant clearing/e.cpp 'auto h = std::hash<std::string>{}(s);' "unordered container"
plant clearing/f.cpp 'auto now = std::chrono::system_clock::now();' "clock access in clearing/"
plant clearing/g.cpp 'int64_t t = time(nullptr);' "clock access in clearing/"
plant clearing/h.cpp 'std::random_device rd;' "random source in clearing/"
plant clearing/i.cpp 'int r = rand();' "random source in clearing/"
plant clearing/j.cpp 'const char* home = std::getenv("HOME");' "environment access in clearing/"
plant clearing/k.cpp 'std::ifstream in(path);' "file or thread access in clearing/"
plant state/m.cpp 'slots.for_each_unordered([&](const auto& e) { out.push_back(e.first); });' "for_each_unordered without an order-free note"
plant tests/scenario.cpp 'std::uniform_int_distribution<int> d(0, 9);' "implementation-defined random distributions"
printf 'std::unordered_map<int, int> cache;  // lint: lookup-only: never iterated\n' > "$work/tree/state/l.cpp"
printf 'slots.for_each_unordered(sum);  // order-free: summed\n' > "$work/tree/state/n.cpp"
bash "$lint" "$work/tree" > "$work/out" || { echo "FAILED: a marked lookup-only use or order-free iteration was flagged"; failures=$((failures + 1)); }
[ "$failures" -eq 0 ]

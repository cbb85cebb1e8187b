# Shared by the CLI tests: named checks that count failures, and exit-code expectations.
# Sourced with $work set; the caller reads $failures at the end.
failures=0
check() { # name, command...
  local name=$1; shift
  if "$@"; then echo "ok: $name"; else echo "FAILED: $name"; failures=$((failures + 1)); fi
}
expect_exit() { # code, command...
  local want=$1; shift
  local got=0
  "$@" >"$work/out" 2>"$work/err" || got=$?
  [ "$got" -eq "$want" ] || { echo "  exit $got, wanted $want: $(cat "$work/err")"; return 1; }
}

#!/usr/bin/env bash
# test/demo/check_demo.sh DEMO - the demo's --tree mode exits 0,
# prints the resource tree it promises, and each request's callbacks see only
# that request's async-local store.
set -euo pipefail
demo=$1
fail() { echo "demo check: $*"; echo "1 passed, 1 failed"; exit 1; }

tree=$("$demo" --tree --quiet) || fail "exit code $?"
grep -qx "root (id 1)" <<<"$tree" || fail "no root line"
count() { grep -c -- "$1" <<<"$tree" || true; }
[[ $(count "^  Timeout (id") == 3 ]] || fail "expected 3 top-level timers"
[[ $(count "^    Immediate (id") == 2 ]] || fail "expected an immediate under each request's timer"
[[ $(count "^      TickObject (id") == 2 ]] || fail "expected a tick under each immediate"
[[ $(count "^        PROMISE (id") == 2 ]] || fail "expected two promise chains of depth 3"
[[ $(count "Microtask (id") == 2 ]] || fail "expected 2 microtasks"
grep -q "alive" <<<"$tree" && fail "a resource was never destroyed"

out=$("$demo" --tree) || fail "exit code $?"
for step in "promise step 1" "promise step 2" "immediate from timeout" "tick from immediate" "timeout 5ms"; do
  for req in request-A request-B; do
    [[ $(grep -c "^$step .*store $req\$" <<<"$out") == 1 ]] || fail "'$step' not seen once with $req"
  done
done
[[ $(grep -c "^interval run .*store -\$" <<<"$out") == 3 ]] || fail "interval should run 3 times with no store"
echo "2 passed, 0 failed"

#!/usr/bin/env bash
# examples/io/check_read_file_tree.sh EXAMPLE - the read-file example exits 0,
# reports the file's size and line count, shows the read-file chain as a
# chain of FSREQCALLBACKs (each triggered by the one before) with the WORKREQ
# under its last request, everything destroyed, and the store followed along.
set -euo pipefail
example=$1
fail() { echo "example check: $*"; echo "$out"; echo "1 passed, 1 failed"; exit 1; }

dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
file=$dir/input.txt
for i in $(seq 1 5000); do echo "line $i of a file that hookloop reads"; done >"$file"

out=$("$example" "$file") || fail "exit code $?"
[[ $(grep -c "^bytes: $(wc -c <"$file")\$" <<<"$out") == 1 ]] || fail "wrong byte count"
[[ $(grep -c "^lines: 5000\$" <<<"$out") == 1 ]] || fail "wrong line count"
grep -q "^file read .*store read-1\$" <<<"$out" || fail "read-file callback lost the store"
grep -q "^lines counted .*store read-1\$" <<<"$out" || fail "work callback lost the store"
grep -qx "root (id 1)" <<<"$out" || fail "no root line"
# open, fstat, one read (under 512 KiB), close: each one level deeper
for depth in 1 2 3 4; do
  pad=$(printf '%*s' $((2 * depth)) '')
  [[ $(grep -c "^${pad}FSREQCALLBACK (id [0-9]*)\$" <<<"$out") == 1 ]] ||
    fail "expected one FSREQCALLBACK at depth $depth"
done
grep -q "^          WORKREQ (id [0-9]*)\$" <<<"$out" || fail "WORKREQ not under the close"
grep -q "alive" <<<"$out" && fail "a resource was never destroyed"

# A missing file: the error on stderr, exit code 1, the failed open in the tree.
code=0
out=$("$example" "$dir/missing" 2>&1) || code=$?
[[ $code == 1 ]] || fail "exit code $code for a missing file"
grep -q "missing: no such file or directory" <<<"$out" || fail "no error for a missing file"
[[ $(grep -c "FSREQCALLBACK" <<<"$out") == 1 ]] || fail "a missing file is one failed open"
echo "2 passed, 0 failed"

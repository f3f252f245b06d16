#!/usr/bin/env bash
# Run an example and check it against its .expected file:
#   line 1: "exit <code>"; the other lines: stdout, line by line, each an
#   extended regular expression matched against the whole line.
# Usage: check_example.sh <program> <expected-file>
set -uo pipefail
prog=$1
exp=$2
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$prog" >"$out/stdout" 2>"$out/stderr"
code=$?
want_code=$(head -1 "$exp" | sed -n 's/^exit //p')
tail -n +2 "$exp" >"$out/want"
fail=0
if [[ "$code" != "$want_code" ]]; then
  echo "exit code $code, expected $want_code" >&2
  fail=1
fi
got_n=$(wc -l <"$out/stdout")
want_n=$(wc -l <"$out/want")
if [[ "$got_n" != "$want_n" ]]; then
  echo "stdout has $got_n lines, expected $want_n" >&2
  fail=1
fi
i=0
while IFS= read -r want <&3 && IFS= read -r got <&4; do
  i=$((i + 1))
  if ! [[ "$got" =~ ^${want}$ ]]; then
    echo "line $i: got '$got', expected /^${want}\$/" >&2
    fail=1
  fi
done 3<"$out/want" 4<"$out/stdout"
if ((fail)); then
  echo "--- stdout"; cat "$out/stdout"; echo "--- stderr"; cat "$out/stderr"
  exit 1
fi
cat "$out/stdout"

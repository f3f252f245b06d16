#!/usr/bin/env bash
# test/demo/check_demo_server.sh DEMO - the demo's default mode: an HTTP server
# (here on a port the kernel picks) that answers GET / with "Hello, World!"
# and an X-Duration header, prints every async resource type with
# --print-types, and exits 0 on SIGINT. No sleeps: the listening line is read
# from a FIFO, curl runs to completion, then the script waits for the exit.
set -euo pipefail
demo=$1
fail() { echo "demo server check: $*"; echo "1 passed, 1 failed"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/err"
"$demo" --port 0 --print-types >"$dir/out" 2>"$dir/err" &
pid=$!
exec 3<"$dir/err"
read -r -u 3 line || fail "no listening line"
port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' <<<"$line")
[[ -n "$port" ]] || fail "no port in: $line"
resp=$(curl -s -S -i "http://127.0.0.1:$port/") || { kill -INT $pid; fail "curl failed"; }
kill -INT $pid
cat <&3 >"$dir/rest" &
code=0; wait $pid || code=$?
exec 3<&-
[[ $code == 0 ]] || fail "exit code $code after SIGINT"
grep -q $'^HTTP/1.1 200 OK\r$' <<<"$resp" || fail "no 200: $resp"
grep -Eq $'^X-Duration: [0-9]+\\.[0-9]{3}\r$' <<<"$resp" || fail "no X-Duration: $resp"
[[ "$resp" == *$'\r\n\r\nHello, World!' ]] || fail "wrong body: $resp"
for t in TCPSERVERWRAP TCPWRAP HTTPINCOMINGMESSAGE; do
  grep -qx "$t" "$dir/out" || fail "--print-types did not print $t"
done
echo "2 passed, 0 failed"

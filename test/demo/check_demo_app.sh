#!/usr/bin/env bash
# test/demo/check_demo_app.sh DEMO - the demo server's app routes (on a port
# the kernel picks): GET / answers "Hello, World!" with X-Elapsed and a
# well-formed Server-Timing; /users/42 answers JSON; /slow?ms=30 waits in an
# asynchronous beforeHandle (X-Elapsed and the beforeHandle.wait metric cover
# it); an unknown path is 404 and POST / is 405 with Allow, both with
# Server-Timing; --trace prints one line per request with each stage and its
# time; SIGINT exits 0. No sleeps: the listening line is read from a FIFO,
# curl runs to completion, then the script waits for the exit.
set -euo pipefail
demo=$1
pass=0
failn=0
fail() { echo "demo app check: $*"; echo "$pass passed, 1 failed"; exit 1; }
ok() { pass=$((pass + 1)); }
dir=$(mktemp -d)
pid=
trap '[[ -n $pid ]] && kill -INT $pid 2>/dev/null; rm -rf "$dir"' EXIT
mkfifo "$dir/err"
"$demo" --port 0 --trace >"$dir/out" 2>"$dir/err" &
pid=$!
exec 3<"$dir/err"
read -r -u 3 line || fail "no listening line"
port=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' <<<"$line")
[[ -n "$port" ]] || fail "no port in: $line"
base="http://127.0.0.1:$port"
get() { curl -s -S -i "$@"; }

# a metric list: name;dur=<ms with 3 decimals>, separated by ", "
st_re='^Server-Timing: [A-Za-z._-]+;dur=[0-9]+\.[0-9]{3}(, [A-Za-z._-]+;dur=[0-9]+\.[0-9]{3})*'$'\r''$'

r=$(get "$base/") || fail "curl /"
grep -q $'^HTTP/1.1 200 OK\r$' <<<"$r" || fail "/: no 200: $r"
[[ "$r" == *$'\r\n\r\nHello, World!' ]] || fail "/: wrong body: $r"
grep -Eq $'^X-Elapsed: [0-9]+\\.[0-9]{3}\r$' <<<"$r" || fail "/: no X-Elapsed: $r"
grep -Eq $'^X-Duration: [0-9]+\\.[0-9]{3}\r$' <<<"$r" || fail "/: no X-Duration: $r"
grep -Eq "$st_re" <<<"$r" || fail "/: Server-Timing missing or malformed: $r"
grep -q 'handle.hello;dur=' <<<"$r" || fail "/: no handle.hello metric: $r"
ok

r=$(get "$base/users/42") || fail "curl /users/42"
grep -q $'^Content-Type: application/json\r$' <<<"$r" || fail "/users/42: not JSON: $r"
[[ "$r" == *$'\r\n\r\n{"id":"42","name":"user 42"}' ]] || fail "/users/42: wrong body: $r"
grep -Eq "$st_re" <<<"$r" || fail "/users/42: Server-Timing: $r"
ok

r=$(get "$base/slow?ms=30") || fail "curl /slow"
[[ "$r" == *$'\r\n\r\nslow, but here' ]] || fail "/slow: wrong body: $r"
el=$(sed -n 's/^X-Elapsed: \([0-9.]*\)\r$/\1/p' <<<"$r")
wait_ms=$(sed -n 's/.*beforeHandle\.wait;dur=\([0-9.]*\).*/\1/p' <<<"$r")
[[ -n $el && -n $wait_ms ]] || fail "/slow: no X-Elapsed or beforeHandle.wait: $r"
# the stage spans its function, which spans the timer (no wall-clock bound:
# libuv schedules from its cached loop time)
awk -v e="$el" -v w="$wait_ms" 'BEGIN { exit !(w > 0 && e >= w) }' ||
  fail "/slow: X-Elapsed $el shorter than beforeHandle.wait $wait_ms"
ok

r=$(get "$base/nope") || fail "curl /nope"
grep -q $'^HTTP/1.1 404 Not Found\r$' <<<"$r" || fail "/nope: no 404: $r"
grep -Eq "$st_re" <<<"$r" || fail "/nope: Server-Timing: $r"
r=$(get -X POST "$base/") || fail "curl POST /"
grep -q $'^HTTP/1.1 405 Method Not Allowed\r$' <<<"$r" || fail "POST /: no 405: $r"
grep -q $'^Allow: GET, HEAD\r$' <<<"$r" || fail "POST /: no Allow: $r"
ok

kill -INT $pid
cat <&3 >"$dir/rest" &
code=0
wait $pid || code=$?
pid=
exec 3<&-
[[ $code == 0 ]] || fail "exit code $code after SIGINT"
ok

# --trace: one line per request, in order, each stage that ran with its time
[[ $(wc -l <"$dir/out") == 5 ]] || fail "--trace: expected 5 lines: $(cat "$dir/out")"
num='[0-9]+\.[0-9]{3}'
full="request=$num parse=$num transform=$num beforeHandle=$num handle=$num afterHandle=$num mapResponse=$num afterResponse=$num total=${num}ms"
grep -Eq "^#1 GET / 200 $full\$" "$dir/out" || fail "--trace line 1: $(sed -n 1p "$dir/out")"
grep -Eq "^#2 GET /users/42 200 $full\$" "$dir/out" || fail "--trace line 2: $(sed -n 2p "$dir/out")"
grep -Eq "^#3 GET /slow 200 $full\$" "$dir/out" || fail "--trace line 3: $(sed -n 3p "$dir/out")"
grep -Eq "^#4 GET /nope 404 request=$num error=$num afterResponse=$num total=${num}ms\$" "$dir/out" ||
  fail "--trace line 4: $(sed -n 4p "$dir/out")"
grep -Eq "^#5 POST / 405 request=$num error=$num afterResponse=$num total=${num}ms\$" "$dir/out" ||
  fail "--trace line 5: $(sed -n 5p "$dir/out")"
ok
echo "$pass passed, $failn failed"

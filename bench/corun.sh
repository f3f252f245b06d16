# bench/corun.sh - sourced by bench/http/run and bench/app/run: the co-run
# ratio of two of our servers, a measure that the machine's noise cannot move.
#
# Separate runs of two servers, one after the other, each see a different
# machine: on a shared VM the same binary moves by 2-3x between runs of a few
# seconds, so a ratio of two separate runs (even the best of several) is
# mostly noise. A co-run puts both servers on the server CPU at once, each
# loaded by its own wrk (both wrk on the wrk CPU, the same arguments). The
# scheduler gives two always-runnable processes equal CPU time, so each
# server's req/s is proportional to 1 / (its CPU time per request), and
# whatever slows the CPU slows both alike: B's req/s ÷ A's is B's cost per
# request relative to A's. It holds only while both servers are always
# runnable (never waiting for wrk): the co-run reads each server's
# /proc/PID/schedstat (time on the CPU + time waiting for it) and a round where
# either was runnable less than 90% of the time is marked unsaturated (its
# ratio leans toward 1) and is not a verdict.
#
# corun NAME_A NAME_B MODE SECONDS: uses the caller's start NAME PORT (which
# launches a server pinned to $srv_cpu in the background, appends its pid to
# pids and waits until it answers), free_port, $wrk_cpu and the wrk arguments
# of MODE (plain, or pipelined with bench/http/pipeline.lua); prints
#   result corun a=NAME_A b=NAME_B mode=MODE rps_a=.. rps_b=.. cpu_a=% cpu_b=% run_a=% run_b=% ratio=B/A
# (cpu_*: the share of the time each server was on the CPU; run_*: on it or
# waiting for it)
corun() {
  local a=$1 b=$2 mode=$3 secs=$4 pa pb pid_a pid_b wa wb
  local args=(-t1 -c64 -d"${secs}s" --timeout 10s)
  [[ $mode == pipelined ]] && args+=(-s bench/http/pipeline.lua)
  pa=$(free_port)
  start "$a" "$pa" || return 1
  pid_a=${pids[-1]}
  pb=$(free_port)
  start "$b" "$pb" || return 1
  pid_b=${pids[-1]}
  local oa ob a0 b0 a1 b1 w0 w1
  # a server's nanoseconds on the CPU and waiting for it (/proc/PID/schedstat)
  sched_of() { awk '{print $1, $2}' "/proc/$1/schedstat"; }
  oa=$(mktemp) ob=$(mktemp)
  a0=$(sched_of "$pid_a") b0=$(sched_of "$pid_b") w0=$(date +%s%N)
  if [[ $mode == pipelined ]]; then
    taskset -c "$wrk_cpu" wrk "${args[@]}" "http://127.0.0.1:$pa/" -- 16 >"$oa" &
    wa=$!
    taskset -c "$wrk_cpu" wrk "${args[@]}" "http://127.0.0.1:$pb/" -- 16 >"$ob" &
    wb=$!
  else
    taskset -c "$wrk_cpu" wrk "${args[@]}" "http://127.0.0.1:$pa/" >"$oa" &
    wa=$!
    taskset -c "$wrk_cpu" wrk "${args[@]}" "http://127.0.0.1:$pb/" >"$ob" &
    wb=$!
  fi
  wait "$wa" "$wb"
  a1=$(sched_of "$pid_a") b1=$(sched_of "$pid_b") w1=$(date +%s%N)
  kill -TERM "$pid_a" "$pid_b" 2>/dev/null || true
  wait "$pid_a" "$pid_b" 2>/dev/null || true
  unset 'pids[-1]'
  unset 'pids[-1]'
  local ra rb
  ra=$(awk '/^Requests\/sec:/ {print $2}' "$oa")
  rb=$(awk '/^Requests\/sec:/ {print $2}' "$ob")
  rm -f "$oa" "$ob"
  awk -v a="$a" -v b="$b" -v m="$mode" -v ra="$ra" -v rb="$rb" -v a0="$a0" -v a1="$a1" -v b0="$b0" \
    -v b1="$b1" -v wall=$((w1 - w0)) 'BEGIN {
      split(a0, x0, " "); split(a1, x1, " "); split(b0, y0, " "); split(b1, y1, " ")
      k = 100 / wall
      printf "result corun a=%s b=%s mode=%s rps_a=%.0f rps_b=%.0f cpu_a=%.0f cpu_b=%.0f run_a=%.0f run_b=%.0f ratio=%.4f\n",
        a, b, m, ra, rb, (x1[1] - x0[1]) * k, (y1[1] - y0[1]) * k,
        (x1[1] - x0[1] + x1[2] - x0[2]) * k, (y1[1] - y0[1] + y1[2] - y0[2]) * k, (ra > 0 ? rb / ra : 0) }'
}

# tree_cpu_ns PID: nanoseconds on the CPU so far of PID, its threads and its
# child processes (nginx's worker, node's threads), from /proc/*/schedstat.
tree_cpu_ns() {
  local p=$1 t=0 f c
  for f in /proc/"$p"/task/*/schedstat; do
    [[ -r $f ]] && t=$((t + $(cut -d' ' -f1 "$f" 2>/dev/null || echo 0)))
  done
  for c in $(cat /proc/"$p"/task/*/children 2>/dev/null); do
    t=$((t + $(tree_cpu_ns "$c")))
  done
  echo "$t"
}

# corun_table FILE: the markdown rows of the co-run results in FILE, one per
# pair and mode: the median ratio over its saturated rounds, the rounds' ratios, the
# target (from the caller's CORUN_TARGETS: "A/B=0.9 ..."), PASS/MISS.
corun_table() {
  CORUN_TARGETS="${CORUN_TARGETS:-}" awk '
    function kv(s, key,   i, n, parts, p) {
      n = split(s, parts, " ")
      for (i = 1; i <= n; i++) { split(parts[i], p, "="); if (p[1] == key) return p[2] }
      return ""
    }
    BEGIN {
      n = split(ENVIRON["CORUN_TARGETS"], t, " ")
      for (i = 1; i <= n; i++) { split(t[i], kvp, "="); target[kvp[1]] = kvp[2] }
    }
    /^result corun / {
      k = kv($0, "b") "/" kv($0, "a") SUBSEP kv($0, "mode")
      if (!(k in cnt)) order[++nk] = k
      c = ++cnt[k]; r[k, c] = kv($0, "ratio") + 0
      ua = kv($0, "run_a") + 0; ub = kv($0, "run_b") + 0
      sat[k, c] = ua >= 90 && ub >= 90
      note[k, c] = sprintf("%d+%d%%", kv($0, "cpu_a"), kv($0, "cpu_b"))
    }
    END {
      if (!nk) exit
      print "| mode | B ÷ A (co-run) | median ratio | rounds (ratio @ CPU share A+B) | target | result |"
      print "|---|---|--:|---|---|---|"
      for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, kk, SUBSEP); c = cnt[k]
        m = 0; rounds = ""
        for (j = 1; j <= c; j++) {
          if (sat[k, j]) v[++m] = r[k, j]
          rounds = rounds (j > 1 ? ", " : "") sprintf("%.3f @ %s%s", r[k, j], note[k, j], sat[k, j] ? "" : " (unsaturated)")
        }
        # median of the saturated rounds (insertion sort: a handful)
        for (x = 2; x <= m; x++) { y = v[x]; z = x - 1; while (z >= 1 && v[z] > y) { v[z + 1] = v[z]; z-- } v[z + 1] = y }
        med = m ? (m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2) : 0
        tg = target[kk[1]]
        res = !m ? "no saturated round" : (tg == "" ? "" : (med >= tg ? "PASS" : "**MISS**"))
        printf "| %s | %s | %s | %s | %s | %s |\n", kk[2], kk[1], m ? sprintf("%.3f", med) : "n/a", rounds,
          tg == "" ? "" : "≥ " tg, res
      }
    }' "$1"
}

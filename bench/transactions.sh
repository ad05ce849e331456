#!/usr/bin/env bash
# Transactions: Talus vs redis-server, same load tool, same machine, same run.
#
# 1. MULTI + INCRS×INCR on random keys + EXEC, pipelined, from CLIENTS connections
#    (examples/txn_load.rs): transactions per second of both and their ratio (talus / redis),
#    in ROUNDS pairs of runs (alternating which server goes first) and their medians; then
#    the same for the INCRs pipelined without MULTI/EXEC.
# 2. The cost of WATCH tracking for clients that do not WATCH: redis-benchmark SET throughput
#    on Talus with nobody watching, then while one idle client holds a WATCH (which turns on
#    touched-key tracking for every write), WATCH_ROUNDS pairs of runs, alternating which goes
#    first; prints the medians, each pair's slowdown and the median of those (the measure).
#
# Usage: bench/transactions.sh
# Environment:
#   TALUS_ARGS   extra flags for talus, e.g. "--io-threads 1 --exec-threads 1"
#   CLIENTS      connections                      (default 50)
#   SECONDS_RUN  length of each transaction run   (default 5)
#   KEYSPACE     random keys                      (default 100000)
#   INCRS        INCRs per transaction            (default 10)
#   REQUESTS     SET requests per benchmark run   (default 200000)
#   ROUNDS       pairs of runs per measure         (default 3)
#   WATCH_ROUNDS pairs of SET runs for the WATCH cost (default 9: one run swings by more than the 5 % being measured)
#   NO_BUILD=1   use the existing release binaries
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_defaults
SECONDS_RUN="${SECONDS_RUN:-5}"
WATCH_ROUNDS="${WATCH_ROUNDS:-9}"
INCRS="${INCRS:-10}"

require_tools redis-server redis-benchmark redis-cli python3
build_talus "talus and txn_load" --example txn_load
LOAD_BIN="$TARGET_DIR/release/examples/txn_load"
[ -x "$LOAD_BIN" ] || { echo "no binary at $LOAD_BIN" >&2; exit 1; }

start_work txn-bench
start_redis
# shellcheck disable=SC2086
start_talus $TALUS_ARGS

print_header "" "git $(git_rev)"
echo

# --- 1. MULTI/EXEC throughput ----------------------------------------------------------------
txn() { # port [plain] -> transactions (or plain pipelines) per second
    "$LOAD_BIN" --addr "127.0.0.1:$1" --clients "$CLIENTS" --seconds "$SECONDS_RUN" \
        --keys "$KEYSPACE" --incrs "$INCRS" --plain "${2:-0}" | awk '{ print $1 }'
}
echo "MULTI + $INCRS x INCR (random keys of $KEYSPACE) + EXEC, pipelined, $CLIENTS clients, ${SECONDS_RUN}s each"
echo "$ROUNDS pairs of runs, alternating which server goes first"
paired_header
paired transactions/s txn
echo
# The same INCRs pipelined without MULTI/EXEC: what the writes alone cost on each server.
echo "the same $INCRS INCRs pipelined without MULTI/EXEC"
plain() { txn "$1" 1; }
paired pipelines/s plain
echo

# --- 2. SET throughput with and without a watcher ---------------------------------------------
set_rps() { # port -> requests/s
    redis-benchmark -h 127.0.0.1 -p "$1" -t set -c "$CLIENTS" -n "$REQUESTS" -r "$KEYSPACE" \
        -d 64 -q 2>/dev/null | last_rps
}
# An idle client holding a WATCH on a key nobody writes (killed by its pid afterwards).
hold_watch() {
    : >"$WORK/watch.out"
    python3 -c '
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"WATCH bench:held\r\n")
print(s.recv(100).decode().strip(), flush=True)
time.sleep(3600)
' "$TALUS_PORT" >"$WORK/watch.out" &
    WATCH_PID=$!
    for _ in $(seq 100); do grep -q OK "$WORK/watch.out" 2>/dev/null && return 0; sleep 0.05; done
    echo "the watching client did not get +OK" >&2
    exit 1
}
stop_watch() {
    kill "$WATCH_PID" 2>/dev/null || true
    wait "$WATCH_PID" 2>/dev/null || true
    WATCH_PID=""
}

echo "SET throughput on talus (redis-benchmark -t set -c $CLIENTS -n $REQUESTS -r $KEYSPACE -d 64), $WATCH_ROUNDS pairs, alternating which goes first"
: >"$WORK/plain"
: >"$WORK/watched"
watched_run() {
    hold_watch
    set_rps "$TALUS_PORT" >>"$WORK/watched"
    stop_watch
}
# Alternating the order: the VM's speed drifts, and so does Talus's as its data grows over
# the runs; a fixed order would count the drift against whichever setting always ran second.
for r in $(seq "$WATCH_ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then
        set_rps "$TALUS_PORT" >>"$WORK/plain"
        watched_run
    else
        watched_run
        set_rps "$TALUS_PORT" >>"$WORK/plain"
    fi
done
plain="$(median <"$WORK/plain")"
watched="$(median <"$WORK/watched")"
printf '%-34s %12s   (runs: %s)\n' "nobody watching, median rps" "$plain" "$(tr '\n' ' ' <"$WORK/plain")"
printf '%-34s %12s   (runs: %s)\n' "one idle client WATCHing, median" "$watched" "$(tr '\n' ' ' <"$WORK/watched")"
printf '%-34s %11s%%\n' "slowdown of the medians" "$(awk -v a="$plain" -v b="$watched" 'BEGIN { printf "%.1f", (a - b) * 100 / a }')"
# The slowdown of each pair (its two runs follow each other), then their median: a drift of
# the VM's speed that covers some pairs moves both runs of a pair, not one side's median.
pairs="$(paste "$WORK/plain" "$WORK/watched" | awk '{ printf "%.1f\n", ($1 - $2) * 100 / $1 }')"
printf '%-34s %11s%%   (pairs: %s)\n' "slowdown with tracking on" "$(median <<<"$pairs")" "$(tr '\n' ' ' <<<"$pairs")"

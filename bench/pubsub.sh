#!/usr/bin/env bash
# Pub/sub: Talus vs redis-server, same load tool (examples/pubsub_load.rs), same machine, same run.
#
# 1. PUBLISH fan-out: SUBSCRIBERS connections SUBSCRIBEd to CHANNELS channels (PSUBSCRIBE ch:*
#    for PATTERNS=1), PUBLISHERS connections sending PUBLISH with SIZE-byte payloads, PIPELINE
#    at a time, for SECONDS_RUN seconds after a 1 s warm-up. ROUNDS rounds, each running both
#    servers (alternating which goes first). Prints delivered/s (messages received by the
#    subscribers per second) and published/s of every run, the median delivered/s of each
#    server and the ratio talus / redis (issue 7's bar: at least 0.5). Every run also checks
#    that the subscribers received exactly what the PUBLISH replies promised.
# 2. INFO and CLIENT LIST round trips with IDLE_CLIENTS idle connections open (PROBES of each):
#    median and max in ms for both servers (issue 7's bar: both under 10 ms).
#
# A run that fails (Talus refusing SUBSCRIBE, an error reply, lost messages) shows "-" and the
# tool's message; the script goes on. If Talus exits, its remaining runs are skipped.
#
# Usage: bench/pubsub.sh
# Environment:
#   TALUS_ARGS    extra flags for talus, e.g. "--io-threads 2 --exec-threads 2"
#   SUBSCRIBERS   subscriber connections                (default 50)
#   CHANNELS      channels each subscriber subscribes to (default 1)
#   PATTERNS      the modes to run: 0 SUBSCRIBE, 1 PSUBSCRIBE ch:*, "0 1" both (default 0)
#   PUBLISHERS    publisher connections                 (default 4)
#   SIZE          payload bytes                         (default 64)
#   PIPELINE      PUBLISHes in flight per publisher     (default 16)
#   SECONDS_RUN   measured seconds of each run          (default 10)
#   ROUNDS        runs per server                       (default 3)
#   IDLE_CLIENTS  idle connections for part 2           (default 1000)
#   PROBES        INFO / CLIENT LIST round trips        (default 20)
#   SKIP_PROBE=1  only part 1;  SKIP_LOAD=1  only part 2
#   NO_BUILD=1    use the existing release binaries
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
SUBSCRIBERS="${SUBSCRIBERS:-50}"
CHANNELS="${CHANNELS:-1}"
PATTERNS="${PATTERNS:-0}"
PUBLISHERS="${PUBLISHERS:-4}"
SIZE="${SIZE:-64}"
PIPELINE="${PIPELINE:-16}"
SECONDS_RUN="${SECONDS_RUN:-10}"
ROUNDS="${ROUNDS:-3}"
IDLE_CLIENTS="${IDLE_CLIENTS:-1000}"
PROBES="${PROBES:-20}"
TALUS_ARGS="${TALUS_ARGS:-}"

require_tools redis-server redis-cli python3
build_talus "talus and pubsub_load" --example pubsub_load
LOAD_BIN="$TARGET_DIR/release/examples/pubsub_load"
[ -x "$LOAD_BIN" ] || { echo "no binary at $LOAD_BIN" >&2; exit 1; }

# Descriptors for the idle clients and the load connections, in this shell (the tool) and in
# the servers started from it (redis-server lowers its maxclients to what its limit allows).
need_fds=$((IDLE_CLIENTS + SUBSCRIBERS + PUBLISHERS + 256))
fd_note=""
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$need_fds" ]; then
    if ! ulimit -n "$need_fds" 2>/dev/null; then
        ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
        fd_note=" (wanted $need_fds; the hard limit is $(ulimit -Hn))"
    fi
fi

start_work pubsub-bench
start_redis
# shellcheck disable=SC2086
start_talus $TALUS_ARGS

print_header "" "git $(git_rev)"
echo "ulimit -n: $(ulimit -n)$fd_note"
echo

TALUS_DEAD=0
# talus_alive: whether talus still runs; the first time it is found dead, says so with the end
# of its log.
talus_alive() {
    [ "$TALUS_DEAD" = 0 ] || return 1
    kill -0 "$TALUS_PID" 2>/dev/null && return 0
    TALUS_DEAD=1
    echo "talus exited; its remaining runs are skipped. End of its log:"
    tail -n 20 "$WORK/talus.log" | sed 's/^/    /'
    return 1
}

# tool PORT ARGS...: runs pubsub_load against PORT; its stdout in $WORK/out, its stderr in
# $WORK/err, its exit status in $tool_rc.
tool() {
    local port="$1"
    shift
    tool_rc=0
    "$LOAD_BIN" --addr "127.0.0.1:$port" "$@" >"$WORK/out" 2>"$WORK/err" || tool_rc=$?
}

# field NAME: the value after "NAME: " in the tool's output, or "-".
field() {
    local v
    v="$(awk -v n="$1:" '$1 == n && $2 ~ /^[0-9.]+$/ { print $2; exit }' "$WORK/out")"
    echo "${v:--}"
}

# why: the tool's failure in one line (its error, or its failed check).
why() {
    { grep -h 'FAILED' "$WORK/out" || true; cat "$WORK/err"; } | head -n1 | cut -c1-160 || true
}

# --- 1. PUBLISH fan-out -----------------------------------------------------------------------
if [ "${SKIP_LOAD:-0}" != 1 ]; then
    for patterns in $PATTERNS; do
        args=(--subscribers "$SUBSCRIBERS" --channels "$CHANNELS" --patterns "$patterns"
            --publishers "$PUBLISHERS" --size "$SIZE" --pipeline "$PIPELINE"
            --seconds "$SECONDS_RUN" --warmup 1)
        if [ "$patterns" = 1 ]; then how="PSUBSCRIBE ch:*"; else how="SUBSCRIBE"; fi
        echo "== PUBLISH to $SUBSCRIBERS subscribers ($how, $CHANNELS channel(s)), $PUBLISHERS publishers, pipeline $PIPELINE, $SIZE-byte payloads, ${SECONDS_RUN}s x $ROUNDS rounds =="
        echo "command: pubsub_load --addr 127.0.0.1:PORT ${args[*]}"
        printf '%-6s %-6s %14s %12s  %s\n' round server delivered/s published/s check
        : >"$WORK/redis.rates"
        : >"$WORK/talus.rates"
        for round in $(seq "$ROUNDS"); do
            if [ $((round % 2)) = 1 ]; then order="redis talus"; else order="talus redis"; fi
            for server in $order; do
                if [ "$server" = redis ]; then
                    port="$REDIS_PORT"
                else
                    talus_alive || continue
                    port="$TALUS_PORT"
                fi
                tool "$port" "${args[@]}"
                delivered="$(field delivered/s)"
                published="$(field published/s)"
                if [ "$tool_rc" = 0 ]; then
                    check=ok
                    echo "$delivered" >>"$WORK/$server.rates"
                else
                    check="$(why)"
                    check="${check:-pubsub_load exited with status $tool_rc}"
                fi
                printf '%-6s %-6s %14s %12s  %s\n' "$round" "$server" "$delivered" "$published" "$check"
                if [ "$server" = talus ]; then talus_alive || true; fi
            done
        done
        redis_med="$(median <"$WORK/redis.rates")"
        talus_med="$(median <"$WORK/talus.rates")"
        if [ "$talus_med" = - ] || [ "$redis_med" = - ]; then r=-; else r="$(ratio "$talus_med" "$redis_med")"; fi
        echo "median delivered/s (passing runs): redis $redis_med, talus $talus_med;" \
            "ratio talus/redis $r (bar: >= 0.5)"
        echo
    done
fi

# --- 2. INFO and CLIENT LIST with idle clients --------------------------------------------------
if [ "${SKIP_PROBE:-0}" != 1 ]; then
    echo "== INFO and CLIENT LIST with $IDLE_CLIENTS idle clients, $PROBES round trips each (bar: both under 10 ms) =="
    echo "command: pubsub_load --addr 127.0.0.1:PORT --idle-clients $IDLE_CLIENTS --probe --probes $PROBES"
    printf '%-6s %-12s %10s %10s  %s\n' server command "median ms" "max ms" note
    for server in redis talus; do
        if [ "$server" = redis ]; then
            port="$REDIS_PORT"
        else
            talus_alive || continue
            port="$TALUS_PORT"
        fi
        tool "$port" --idle-clients "$IDLE_CLIENTS" --probe --probes "$PROBES"
        for cmd in "INFO" "CLIENT LIST"; do
            line="$(grep -m1 "^$cmd: " "$WORK/out" || true)"
            if [[ "$line" =~ median\ ([0-9.]+)\ ms,\ max\ ([0-9.]+)\ ms ]]; then
                med="${BASH_REMATCH[1]}"
                max="${BASH_REMATCH[2]}"
                note="$(awk -v m="$max" 'BEGIN { print (m < 10 ? "ok" : "OVER 10 ms") }')"
                # The clients a CLIENT LIST reply named (idle ones + the probing one).
                if [[ "$line" =~ ([0-9]+)\ clients\ listed ]]; then note="$note, ${BASH_REMATCH[1]} clients listed"; fi
            else
                med="-"
                max="-"
                note="${line#"$cmd: "}"
                note="${note:-$(head -n1 "$WORK/err" | cut -c1-160)}"
            fi
            printf '%-6s %-12s %10s %10s  %s\n' "$server" "$cmd" "$med" "$max" "$note"
        done
    done
    talus_alive >/dev/null || true
fi

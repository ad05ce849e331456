#!/usr/bin/env bash
# A/B of Talus variants (flags or binaries) side by side, with redis-server as the yardstick.
#
# Starts one Talus per variant and one redis-server, all at once on free ports, warms each
# with WARM rounds of `redis-benchmark -t WARM_TESTS`, then runs ROUNDS rounds of
# `redis-benchmark -t TESTS` against every server, rotating which one goes first. Prints each
# server's requests per second per round and their median, then per variant the round-by-round
# ratio to variant v0 (sorted) and its median. Paired rounds make small differences visible on
# a VM whose speed drifts by ±15 % within seconds: both sides of a ratio ran seconds apart.
#
# Usage: bench/ab.sh "FLAGS of v0" "FLAGS of v1" ...
#        e.g. bench/ab.sh "" "--rocksdb-write-buffer-size 8mb"
# Environment:
#   BIN0, BIN1, ...  the binary of variant i (default: the release build)
#   TESTS            redis-benchmark -t list measured        (default hset)
#   WARM_TESTS       redis-benchmark -t list of the warm-up  (default sadd,hset,spop)
#   WARM             warm-up rounds of 200000 requests        (default 1)
#   ROUNDS           measured rounds                          (default 8)
#   REQUESTS, CLIENTS, KEYSPACE, DATASIZE as in bench/compare.sh (REQUESTS default 100000)
#   NO_BUILD=1       use the existing release binary
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
REQUESTS="${REQUESTS:-100000}"
bench_defaults
ROUNDS="${ROUNDS:-8}"
TESTS="${TESTS:-hset}"
WARM_TESTS="${WARM_TESTS:-sadd,hset,spop}"
WARM="${WARM:-1}"
DATASIZE="${DATASIZE:-64}"
[ $# -ge 1 ] || { echo "usage: bench/ab.sh \"FLAGS of v0\" [\"FLAGS of v1\" ...]" >&2; exit 2; }

require_tools redis-server redis-benchmark redis-cli
build_talus

start_work ab
PIDS=()
PORTS=()
NAMES=()
stop_all() {
    stop_pids "${PIDS[@]}"
    rm -rf "$WORK"
}
trap stop_all EXIT INT TERM

i=0
for flags in "$@"; do
    bin_var="BIN$i"
    # shellcheck disable=SC2086
    launch_talus "v$i" "${!bin_var:-$TALUS_BIN}" $flags
    PIDS+=("$LAUNCHED_PID")
    PORTS+=("$LAUNCHED_PORT")
    NAMES+=("v$i")
    i=$((i + 1))
done
start_redis
PIDS+=("$REDIS_PID")
PORTS+=("$REDIS_PORT")
NAMES+=(redis)

echo "variants: $(for j in $(seq 0 $((i - 1))); do a=$((j + 1)); printf 'v%d="%s" ' "$j" "${!a}"; done)"
echo "warm-up: $WARM x redis-benchmark -t $WARM_TESTS -n 200000; then $ROUNDS rounds of -t $TESTS" \
    "-c $CLIENTS -n $REQUESTS -r $KEYSPACE -d $DATASIZE (talus git $(git_rev))"

n=${#PORTS[@]}
for port in "${PORTS[@]}"; do
    for _ in $(seq "$WARM"); do
        redis-benchmark -p "$port" -t "$WARM_TESTS" -c "$CLIENTS" -n 200000 -r "$KEYSPACE" \
            -d "$DATASIZE" -q >/dev/null 2>&1
    done
done

# "NAME<TAB>ROUND<TAB>TEST<TAB>RPS" lines (a test's name may hold spaces: "MSET (10 keys)").
: >"$WORK/results"
for r in $(seq "$ROUNDS"); do
    for j in $(seq 0 $((n - 1))); do
        k=$(((j + r) % n))
        redis-benchmark -p "${PORTS[$k]}" -t "$TESTS" -c "$CLIENTS" -n "$REQUESTS" \
            -r "$KEYSPACE" -d "$DATASIZE" -q 2>/dev/null | rps_lines |
            awk -F'\t' -v OFS='\t' -v name="${NAMES[$k]}" -v r="$r" '{ print name, r, $1, $2 }' >>"$WORK/results"
    done
done

cut -f3 "$WORK/results" | sort -u | while IFS= read -r test; do
    echo
    echo "== $test"
    for name in "${NAMES[@]}"; do
        printf '%-6s' "$name"
        awk -F'\t' -v n="$name" -v t="$test" '$1 == n && $3 == t { printf " %8.0f", $4 }' "$WORK/results"
        printf '  median %8.0f\n' \
            "$(awk -F'\t' -v n="$name" -v t="$test" '$1 == n && $3 == t { print $4 }' "$WORK/results" | median)"
    done
    for name in "${NAMES[@]}"; do
        [ "$name" = v0 ] && continue
        ratios="$(awk -F'\t' -v n="$name" -v t="$test" '
            $3 == t && $1 == "v0" { a[$2] = $4 }
            $3 == t && $1 == n { b[$2] = $4 }
            END { for (r in a) if (a[r] > 0 && (r in b)) printf "%.3f\n", b[r] / a[r] }' \
            "$WORK/results" | sort -g)"
        printf '%-9s %s  median %s\n' "$name/v0" "$(echo "$ratios" | tr '\n' ' ')" \
            "$(echo "$ratios" | median)"
    done
done

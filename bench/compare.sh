#!/usr/bin/env bash
# Talus vs redis-server, same redis-benchmark, same machine, same run.
#
# Builds Talus in release mode, starts it and Debian's redis-server (no persistence) side by
# side on free ports, runs the same redis-benchmark against each (without pipelining, then with
# -P 16) in ROUNDS pairs of runs, alternating which server goes first, and prints requests per
# second of both and their ratio (talus / redis) for every round, then each column's median.
#
# Usage: bench/compare.sh
# Environment:
#   TALUS_ARGS   extra flags for talus, e.g. "--io-threads 1 --exec-threads 1"
#   REDIS_ARGS   extra flags for redis-server
#   TESTS        redis-benchmark -t list          (default set,get,incr,mset)
#   CLIENTS      -c                                (default 50)
#   REQUESTS     -n                                (default 200000)
#   KEYSPACE     -r                                (default 100000)
#   DATASIZE     -d                                (default 64)
#   PIPELINES    the -P values to run, in order    (default "1 16")
#   ROUNDS       pairs of runs per -P value         (default 3)
#   NO_BUILD=1   use the existing release binary
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_defaults
TESTS="${TESTS:-set,get,incr,mset}"
DATASIZE="${DATASIZE:-64}"
PIPELINES="${PIPELINES:-1 16}"
REDIS_ARGS="${REDIS_ARGS:-}"

require_tools redis-server redis-benchmark redis-cli
build_talus

start_work bench
# shellcheck disable=SC2086
start_redis $REDIS_ARGS
# shellcheck disable=SC2086
start_talus $TALUS_ARGS

# "TEST<TAB>rps" lines of one redis-benchmark run.
bench() { # port pipeline
    redis-benchmark -h 127.0.0.1 -p "$1" -t "$TESTS" -c "$CLIENTS" -n "$REQUESTS" \
        -r "$KEYSPACE" -d "$DATASIZE" -P "$2" -q 2>/dev/null | rps_lines
}

talus_version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -n1)"
print_header " $REDIS_ARGS" "talus $talus_version (git $(git_rev))"
echo "command: redis-benchmark -t $TESTS -c $CLIENTS -n $REQUESTS -r $KEYSPACE -d $DATASIZE -q [-P N]"
echo

printf '%-18s %4s %6s %14s %14s %7s\n' test "-P" round "redis rps" "talus rps" ratio
printf '%-18s %4s %6s %14s %14s %7s\n' ------------------ ---- ------ -------------- -------------- -------
for p in $PIPELINES; do
    # ROUNDS pairs of runs, redis first in odd rounds and Talus first in even ones.
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then
            bench "$REDIS_PORT" "$p" >"$WORK/redis.$r"
            bench "$TALUS_PORT" "$p" >"$WORK/talus.$r"
        else
            bench "$TALUS_PORT" "$p" >"$WORK/talus.$r"
            bench "$REDIS_PORT" "$p" >"$WORK/redis.$r"
        fi
        check_talus "during the benchmark"
    done
    # A row per test and round, then the test's medians (the ratio: the median of its rounds'
    # ratios).
    cut -f1 "$WORK/redis.1" | while IFS= read -r name; do
        [ -n "$name" ] || continue
        : >"$WORK/col.redis"
        : >"$WORK/col.talus"
        : >"$WORK/col.ratio"
        for r in $(seq "$ROUNDS"); do
            rrps="$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$WORK/redis.$r")"
            trps="$(awk -F'\t' -v n="$name" '$1 == n { print $2 }' "$WORK/talus.$r")"
            ratio="$(ratio "${trps:-0}" "${rrps:-0}")"
            [ -n "$trps" ] || { trps="-"; ratio="-"; }
            printf '%-18s %4s %6s %14s %14s %7s\n' "$name" "$p" "$r" "${rrps:--}" "$trps" "$ratio"
            echo "${rrps:-0}" >>"$WORK/col.redis"
            echo "${trps/-/0}" >>"$WORK/col.talus"
            echo "${ratio/-/0}" >>"$WORK/col.ratio"
        done
        printf '%-18s %4s %6s %14s %14s %7s\n' "$name" "$p" median "$(median <"$WORK/col.redis")" \
            "$(median <"$WORK/col.talus")" "$(median <"$WORK/col.ratio")"
    done
done

#!/usr/bin/env bash
# Talus vs redis-server, same redis-benchmark, same machine, same run.
#
# Builds Talus in release mode, starts it and Debian's redis-server (no persistence) side by
# side on free ports, runs the same redis-benchmark against each (without pipelining, then with
# -P 16) and prints requests per second of both and their ratio (talus / redis).
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

printf '%-18s %4s %14s %14s %7s\n' test "-P" "redis rps" "talus rps" ratio
printf '%-18s %4s %14s %14s %7s\n' ------------------ ---- -------------- -------------- -------
for p in $PIPELINES; do
    redis_out="$(bench "$REDIS_PORT" "$p")"
    talus_out="$(bench "$TALUS_PORT" "$p")"
    check_talus "during the benchmark"
    while IFS=$'\t' read -r name rrps; do
        [ -n "$name" ] || continue
        trps="$(printf '%s\n' "$talus_out" | awk -F'\t' -v n="$name" '$1 == n { print $2 }')"
        if [ -n "$trps" ]; then
            ratio="$(ratio "$trps" "$rrps")"
        else
            trps="-"
            ratio="-"
        fi
        printf '%-18s %4s %14s %14s %7s\n' "$name" "$p" "$rrps" "$trps" "$ratio"
    done <<<"$redis_out"
done

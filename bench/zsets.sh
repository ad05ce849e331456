#!/usr/bin/env bash
# Sorted sets: throughput against redis-server, both in the same run.
#
# 1. redis-benchmark -t zadd,zpopmin -c 50 -n 200000 -r 100000 (bench/compare.sh, ratio
#    talus / redis). ZPOPMIN pops the one zset ZADD filled: the queue case, where every pop
#    must start past the tombstones of the earlier ones.
# 2. ZRANGEBYSCORE of 100 members at a random score of a 1 000 000-member zset
#    (redis-benchmark ... ZRANGEBYSCORE bigz __rand_int__ +inf LIMIT 0 100), after filling the
#    zset on both servers; requests per second of both and their ratio, in ROUNDS pairs of
#    runs (alternating which server goes first) and their medians.
#
# Usage: bench/zsets.sh   (NO_BUILD=1: use the existing release binary; SKIP_THROUGHPUT=1:
#        only part 2)
# Environment: CLIENTS (50), REQUESTS (200000), KEYSPACE (100000), PIPELINES (1),
#              BIG (1000000: members of the zset of part 2), RANGE_REQUESTS (100000),
#              ROUNDS (3: pairs of runs per measure)
# Smoke test: REQUESTS=2000 BIG=20000 RANGE_REQUESTS=2000 bench/zsets.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_defaults
BIG="${BIG:-1000000}"
RANGE_REQUESTS="${RANGE_REQUESTS:-100000}"

compare_part zadd,zpopmin

find_talus
start_work zsets
start_redis
# shellcheck disable=SC2086
start_talus $TALUS_ARGS

# fill PORT: ZADD bigz with members m<i> of score i, for i < $BIG, in pipelined batches;
# prints ZCARD.
fill() {
    bench_py - "$1" "$BIG" <<'EOF'
import sys
from resp import Conn

port, n = int(sys.argv[1]), int(sys.argv[2])
c = Conn(port)
c.pipelined(
    [b"ZADD", b"bigz"] + [x for i in range(start, min(n, start + 1000)) for x in (b"%d" % i, b"m%d" % i)]
    for start in range(0, n, 1000)
)
print(c.call("ZCARD", "bigz").decode()[1:])
EOF
}

# range PORT: requests per second of ZRANGEBYSCORE over 100 members at a random score.
range_rps() {
    local span=$((BIG > 100 ? BIG - 100 : 1))
    redis-benchmark -h 127.0.0.1 -p "$1" -c "$CLIENTS" -n "$RANGE_REQUESTS" -r "$span" -q \
        ZRANGEBYSCORE bigz __rand_int__ +inf LIMIT 0 100 2>/dev/null | last_rps
}

echo "== ZRANGEBYSCORE of 100 members of a $BIG-member zset =="
echo "command: redis-benchmark -c $CLIENTS -n $RANGE_REQUESTS -r $((BIG - 100)) ZRANGEBYSCORE bigz __rand_int__ +inf LIMIT 0 100"
echo "filled redis: $(fill "$REDIS_PORT") members; talus: $(fill "$TALUS_PORT") members"
echo "$ROUNDS pairs of runs, alternating which server goes first"
paired_header
paired ZRANGEBYSCORE-100 range_rps

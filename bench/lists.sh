#!/usr/bin/env bash
# Lists: throughput against redis-server, and a list used as a queue draining at a flat rate.
#
# 1. redis-benchmark -t lpush,rpush,lpop,rpop,lrange_100 -c 50 -n 200000 against Talus and
#    redis-server in the same run (bench/compare.sh, ratio talus / redis);
# 2. a queue on Talus: RPUSH QUEUE_LEN elements, then drain it with LPOP (pipelined batches of
#    1000) and print the pop rate of each tenth of the drain: pops go by position, so the last
#    tenth (behind the tombstones of every earlier pop) must run as fast as the first
#    (target: ratio last / first above 0.7); then DEL of a QUEUE_LEN-element list, timed
#    round trip (target: under 1 ms).
#
# Usage: bench/lists.sh   (NO_BUILD=1: use the existing release binary; SKIP_THROUGHPUT=1:
#        only part 2)
# Environment: CLIENTS (50), REQUESTS (200000), PIPELINES ("1"), QUEUE_LEN (1000000)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_defaults
QUEUE_LEN="${QUEUE_LEN:-1000000}"

compare_part lpush,rpush,lpop,rpop,lrange_100

find_talus
start_work lists
start_talus

bench_py - "$TALUS_PORT" "$QUEUE_LEN" <<'EOF'
import sys, time
from resp import Conn, enc

port, n = int(sys.argv[1]), int(sys.argv[2])
c = Conn(port)

def fill(key, count):
    c.pipelined(
        [b"RPUSH", key] + [b"item:%d" % i for i in range(start, min(count, start + 1000))]
        for start in range(0, count, 1000)
    )

print("== a %d-element queue drained with LPOP (pipelined batches of 1000) ==" % n)
fill(b"queue", n)
print("LLEN:", c.call("LLEN", "queue").decode())
tenth = max(1, n // 10)
rates = []
popped = 0
expect = 0
while popped < n:
    goal = min(n, popped + tenth)
    t0 = time.perf_counter()
    while popped < goal:
        k = min(1000, goal - popped)
        c.send(enc("LPOP", "queue") * k)
        for _ in range(k):
            v = c.reply()
            if v != b"item:%d" % expect:
                raise SystemExit("LPOP gave %r, expected item:%d" % (v, expect))
            expect += 1
        popped += k
    dt = time.perf_counter() - t0
    rates.append(tenth / dt if dt > 0 else float("inf"))
print("pops/s per tenth: " + " ".join("%.0f" % r for r in rates))
print("last / first tenth: %.2f (target > 0.7)" % (rates[-1] / rates[0]))
print("EXISTS after the drain:", c.call("EXISTS", "queue").decode())

print()
print("== DEL of a %d-element list ==" % n)
fill(b"biglist", n)
t0 = time.perf_counter()
r = c.call("DEL", "biglist")
print("DEL -> %s in %.3f ms (target < 1 ms)" % (r.decode(), (time.perf_counter() - t0) * 1000))
EOF

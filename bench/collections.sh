#!/usr/bin/env bash
# Hashes and sets: throughput against redis-server, O(1) DEL of a huge hash, and the memory an
# HGETALL of a big hash costs.
#
# 1. redis-benchmark -t hset,sadd,spop against Talus and redis-server in the same run
#    (bench/compare.sh, ratio talus / redis);
# 2. DEL of a 1 000 000-field hash on Talus, timed round trip (target: under 1 ms);
# 3. HGETALL of a 100 000-field hash of 100-byte values: the growth of Talus's peak RSS
#    (VmHWM, reset before the call) against the reply's size (target: under 3x).
#
# Usage: bench/collections.sh   (NO_BUILD=1: use the existing release binary; SKIP_THROUGHPUT=1:
#        only parts 2 and 3)
# Environment: CLIENTS (50), REQUESTS (200000), KEYSPACE (100000), DEL_FIELDS (1000000),
#              GETALL_FIELDS (100000)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
bench_defaults
DEL_FIELDS="${DEL_FIELDS:-1000000}"
GETALL_FIELDS="${GETALL_FIELDS:-100000}"

compare_part hset,sadd,spop

find_talus
start_work coll
# shellcheck disable=SC2086
start_talus $TALUS_ARGS

bench_py - "$TALUS_PORT" "$TALUS_PID" "$DEL_FIELDS" "$GETALL_FIELDS" <<'EOF'
import sys, time
from resp import Conn, enc

port, pid, del_fields, getall_fields = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
c = Conn(port)

def fill(key, n, value):
    c.pipelined(
        [b"HSET", key] + [x for i in range(start, min(n, start + 1000)) for x in (b"f%d" % i, value)]
        for start in range(0, n, 1000)
    )

def status(field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0

print("== DEL of a %d-field hash ==" % del_fields)
fill(b"bighash", del_fields, b"v")
print("HLEN:", c.call("HLEN", "bighash").decode())
t0 = time.perf_counter()
r = c.call("DEL", "bighash")
dt = (time.perf_counter() - t0) * 1000
print("DEL -> %s in %.3f ms (target < 1 ms)" % (r.decode(), dt))

print()
print("== HGETALL of a %d-field hash of 100-byte values ==" % getall_fields)
fill(b"gethash", getall_fields, b"x" * 100)
def measure(label):
    try:
        with open("/proc/%d/clear_refs" % pid, "w") as f:
            f.write("5")  # resets VmHWM to the current RSS
    except OSError as e:
        print("cannot reset the peak RSS (%s): the growth below is an upper bound" % e)
    rss_before = status("VmRSS")
    c.send(enc("HGETALL", "gethash"))
    t0 = time.perf_counter()
    reply = c.reply()
    dt = (time.perf_counter() - t0) * 1000
    payload = sum(len(x) for x in reply)
    # The reply as sent: the array header, then "$<len>\r\n<bytes>\r\n" per element.
    wire = len(b"*%d\r\n" % len(reply)) + sum(len(b"$%d\r\n" % len(x)) + len(x) + 2 for x in reply)
    growth = max(0, status("VmHWM") - rss_before)
    print("%s: %d elements, %.1f MB of payload, %.1f MB on the wire, %.0f ms; peak RSS growth %.1f MB = %.2fx the reply (target < 3x)"
          % (label, len(reply), payload / 1e6, wire / 1e6, dt, growth / 1e6, growth / wire))

# Cold: the first read also fills RocksDB's block cache; warm: the reply alone.
measure("cold")
measure("warm")
EOF

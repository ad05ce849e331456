#!/usr/bin/env bash
# Sorted sets: throughput against redis-server, both in the same run.
#
# 1. redis-benchmark -t zadd,zpopmin -c 50 -n 200000 -r 100000 (bench/compare.sh, ratio
#    talus / redis). ZPOPMIN pops the one zset ZADD filled: the queue case, where every pop
#    must start past the tombstones of the earlier ones.
# 2. ZRANGEBYSCORE of 100 members at a random score of a 1 000 000-member zset
#    (redis-benchmark ... ZRANGEBYSCORE bigz __rand_int__ +inf LIMIT 0 100), after filling the
#    zset on both servers; requests per second of both and their ratio.
#
# Usage: bench/zsets.sh   (NO_BUILD=1: use the existing release binary; SKIP_THROUGHPUT=1:
#        only part 2)
# Environment: CLIENTS (50), REQUESTS (200000), KEYSPACE (100000), PIPELINES (1),
#              BIG (1000000: members of the zset of part 2), RANGE_REQUESTS (100000)
# Smoke test: REQUESTS=2000 BIG=20000 RANGE_REQUESTS=2000 bench/zsets.sh
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
CLIENTS="${CLIENTS:-50}"
BIG="${BIG:-1000000}"
RANGE_REQUESTS="${RANGE_REQUESTS:-100000}"

if [ "${SKIP_THROUGHPUT:-0}" != 1 ]; then
    echo "== redis-benchmark: zadd, zpopmin =="
    TESTS=zadd,zpopmin CLIENTS="$CLIENTS" PIPELINES="${PIPELINES:-1}" "$ROOT/bench/compare.sh"
    echo
fi

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TALUS_BIN="$TARGET_DIR/release/talus"
[ -x "$TALUS_BIN" ] || { echo "no binary at $TALUS_BIN (set CARGO_TARGET_DIR?)" >&2; exit 1; }
WORK="$(mktemp -d -t talus-zsets.XXXXXX)"
TALUS_PID=""
REDIS_PID=""
cleanup() {
    stop_pids "$TALUS_PID" "$REDIS_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

REDIS_PORT="$(free_port)"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$WORK" >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
wait_ready "$REDIS_PORT" "$REDIS_PID" redis

TALUS_PORT="$(free_port)"
while [ "$TALUS_PORT" = "$REDIS_PORT" ]; do TALUS_PORT="$(free_port)"; done
RUST_LOG=warn "$TALUS_BIN" --port "$TALUS_PORT" --bind 127.0.0.1 --dir "$WORK/talus-data" \
    >"$WORK/talus.log" 2>&1 &
TALUS_PID=$!
wait_ready "$TALUS_PORT" "$TALUS_PID" talus

# fill PORT: ZADD bigz with members m<i> of score i, for i < $BIG, in pipelined batches.
fill() {
    python3 - "$1" "$BIG" <<'EOF'
import socket, sys

port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
buf = bytearray()

def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)

def read_lines(count):
    # Every reply here is one line (":n" or "-err").
    global buf
    while buf.count(b"\r\n") < count:
        chunk = s.recv(1 << 16)
        if not chunk:
            raise SystemExit("connection closed")
        buf += chunk
    lines = buf.split(b"\r\n")
    for line in lines[:count]:
        if line.startswith(b"-"):
            raise SystemExit("error: %r" % line)
    buf = bytearray(b"\r\n".join(lines[count:]))
    return lines[:count]

pending = 0
for start in range(0, n, 1000):
    args = [b"ZADD", b"bigz"]
    for i in range(start, min(n, start + 1000)):
        args += [str(i).encode(), b"m%d" % i]
    s.sendall(enc(*args))
    pending += 1
    if pending == 32:
        read_lines(pending)
        pending = 0
read_lines(pending)
s.sendall(enc("ZCARD", "bigz"))
print(read_lines(1)[0].decode()[1:])
EOF
}

# range PORT: requests per second of ZRANGEBYSCORE over 100 members at a random score.
range_rps() {
    local span=$((BIG > 100 ? BIG - 100 : 1))
    redis-benchmark -h 127.0.0.1 -p "$1" -c "$CLIENTS" -n "$RANGE_REQUESTS" -r "$span" -q \
        ZRANGEBYSCORE bigz __rand_int__ +inf LIMIT 0 100 2>/dev/null |
        tr '\r' '\n' | grep 'requests per second' | tail -n1 |
        sed -E 's/.*: ([0-9.]+) requests per second.*/\1/'
}

echo "== ZRANGEBYSCORE of 100 members of a $BIG-member zset =="
echo "command: redis-benchmark -c $CLIENTS -n $RANGE_REQUESTS -r $((BIG - 100)) ZRANGEBYSCORE bigz __rand_int__ +inf LIMIT 0 100"
echo "filled redis: $(fill "$REDIS_PORT") members; talus: $(fill "$TALUS_PORT") members"
redis_rps="$(range_rps "$REDIS_PORT")"
talus_rps="$(range_rps "$TALUS_PORT")"
kill -0 "$TALUS_PID" 2>/dev/null || { echo "talus exited:" >&2; tail -n 50 "$WORK/talus.log" >&2; exit 1; }
ratio="$(awk -v a="$talus_rps" -v b="$redis_rps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')"
printf '%-22s %14s %14s %7s\n' test "redis rps" "talus rps" ratio
printf '%-22s %14s %14s %7s\n' ZRANGEBYSCORE-100 "$redis_rps" "$talus_rps" "$ratio"

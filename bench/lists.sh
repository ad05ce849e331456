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
QUEUE_LEN="${QUEUE_LEN:-1000000}"

if [ "${SKIP_THROUGHPUT:-0}" != 1 ]; then
    echo "== redis-benchmark: lpush, rpush, lpop, rpop, lrange_100 =="
    TESTS=lpush,rpush,lpop,rpop,lrange_100 CLIENTS="${CLIENTS:-50}" \
        REQUESTS="${REQUESTS:-200000}" PIPELINES="${PIPELINES:-1}" "$ROOT/bench/compare.sh"
    echo
fi

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TALUS_BIN="$TARGET_DIR/release/talus"
[ -x "$TALUS_BIN" ] || { echo "no binary at $TALUS_BIN (set CARGO_TARGET_DIR?)" >&2; exit 1; }
WORK="$(mktemp -d -t talus-lists.XXXXXX)"
TALUS_PID=""
cleanup() {
    stop_pids "$TALUS_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

PORT="$(free_port)"
RUST_LOG=warn "$TALUS_BIN" --port "$PORT" --bind 127.0.0.1 --dir "$WORK/data" >"$WORK/talus.log" 2>&1 &
TALUS_PID=$!
wait_ready "$PORT" "$TALUS_PID" talus

python3 - "$PORT" "$QUEUE_LEN" <<'EOF'
import socket, sys, time

port, n = int(sys.argv[1]), int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
buf = bytearray()
pos = 0

def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)

def fill_buf():
    global buf, pos
    chunk = s.recv(1 << 20)
    if not chunk:
        raise SystemExit("connection closed")
    if pos > (1 << 20):
        del buf[:pos]
        pos = 0
    buf += chunk

def read_line():
    global pos
    while True:
        i = buf.find(b"\r\n", pos)
        if i >= 0:
            line = bytes(buf[pos:i])
            pos = i + 2
            return line
        fill_buf()

def read_exact(k):
    global pos
    while len(buf) - pos < k:
        fill_buf()
    out = bytes(buf[pos:pos + k])
    pos += k
    return out

def read_reply():
    line = read_line()
    t = line[:1]
    if t == b"-":
        raise SystemExit("error reply: %r" % line)
    if t in (b"+", b":"):
        return line
    if t == b"$":
        k = int(line[1:])
        return None if k < 0 else read_exact(k + 2)[:-2]
    if t == b"*":
        return [read_reply() for _ in range(int(line[1:]))]
    raise SystemExit("bad reply %r" % line)

def fill(key, count):
    batch, pending = 1000, 0
    for start in range(0, count, batch):
        s.sendall(enc(b"RPUSH", key, *[b"item:%d" % i for i in range(start, min(count, start + batch))]))
        pending += 1
        if pending == 32:
            for _ in range(pending):
                read_reply()
            pending = 0
    for _ in range(pending):
        read_reply()

print("== a %d-element queue drained with LPOP (pipelined batches of 1000) ==" % n)
fill(b"queue", n)
s.sendall(enc("LLEN", "queue"))
print("LLEN:", read_reply().decode())
tenth = max(1, n // 10)
rates = []
popped = 0
expect = 0
while popped < n:
    goal = min(n, popped + tenth)
    t0 = time.perf_counter()
    while popped < goal:
        k = min(1000, goal - popped)
        s.sendall(enc("LPOP", "queue") * k)
        for _ in range(k):
            v = read_reply()
            if v != b"item:%d" % expect:
                raise SystemExit("LPOP gave %r, expected item:%d" % (v, expect))
            expect += 1
        popped += k
    dt = time.perf_counter() - t0
    rates.append(tenth / dt if dt > 0 else float("inf"))
print("pops/s per tenth: " + " ".join("%.0f" % r for r in rates))
print("last / first tenth: %.2f (target > 0.7)" % (rates[-1] / rates[0]))
s.sendall(enc("EXISTS", "queue"))
print("EXISTS after the drain:", read_reply().decode())

print()
print("== DEL of a %d-element list ==" % n)
fill(b"biglist", n)
t0 = time.perf_counter()
s.sendall(enc("DEL", "biglist"))
r = read_reply()
print("DEL -> %s in %.3f ms (target < 1 ms)" % (r.decode(), (time.perf_counter() - t0) * 1000))
EOF

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
DEL_FIELDS="${DEL_FIELDS:-1000000}"
GETALL_FIELDS="${GETALL_FIELDS:-100000}"

if [ "${SKIP_THROUGHPUT:-0}" != 1 ]; then
    echo "== redis-benchmark: hset, sadd, spop =="
    TESTS=hset,sadd,spop PIPELINES="${PIPELINES:-1}" "$ROOT/bench/compare.sh"
    echo
fi

TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
TALUS_BIN="$TARGET_DIR/release/talus"
[ -x "$TALUS_BIN" ] || { echo "no binary at $TALUS_BIN (set CARGO_TARGET_DIR?)" >&2; exit 1; }
WORK="$(mktemp -d -t talus-coll.XXXXXX)"
TALUS_PID=""
cleanup() {
    stop_pids "$TALUS_PID"
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

PORT="$(free_port)"
RUST_LOG=warn "$TALUS_BIN" --port "$PORT" --bind 127.0.0.1 --dir "$WORK/data" >"$WORK/talus.log" 2>&1 &
TALUS_PID=$!
for _ in $(seq 300); do
    [ "$(redis-cli -p "$PORT" ping 2>/dev/null || true)" = PONG ] && break
    kill -0 "$TALUS_PID" 2>/dev/null || { echo "talus exited:" >&2; cat "$WORK/talus.log" >&2; exit 1; }
    sleep 0.1
done

python3 - "$PORT" "$TALUS_PID" "$DEL_FIELDS" "$GETALL_FIELDS" <<'EOF'
import socket, sys, time

port, pid, del_fields, getall_fields = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
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

def read_exact(n):
    global pos
    while len(buf) - pos < n:
        fill_buf()
    out = bytes(buf[pos:pos + n])
    pos += n
    return out

def read_reply():
    line = read_line()
    t = line[:1]
    if t in (b"+", b"-", b":"):
        return line
    if t == b"$":
        n = int(line[1:])
        return None if n < 0 else read_exact(n + 2)[:-2]
    if t == b"*":
        return [read_reply() for _ in range(int(line[1:]))]
    raise SystemExit("bad reply %r" % line)

def fill(key, n, value):
    batch = 1000
    pending = 0
    for start in range(0, n, batch):
        args = [b"HSET", key]
        for i in range(start, min(n, start + batch)):
            args += [b"f%d" % i, value]
        s.sendall(enc(*args))
        pending += 1
        if pending == 32:
            for _ in range(pending):
                read_reply()
            pending = 0
    for _ in range(pending):
        read_reply()

def status(field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0

print("== DEL of a %d-field hash ==" % del_fields)
fill(b"bighash", del_fields, b"v")
s.sendall(enc("HLEN", "bighash"))
print("HLEN:", read_reply().decode())
t0 = time.perf_counter()
s.sendall(enc("DEL", "bighash"))
r = read_reply()
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
    s.sendall(enc("HGETALL", "gethash"))
    t0 = time.perf_counter()
    reply = read_reply()
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

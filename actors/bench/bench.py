#!/usr/bin/env python3
"""Compare the actor pipeline (examples/mem_server.rs, in-memory service) with redis-server.

Usage: CARGO_TARGET_DIR=... actors/bench/bench.py [--rounds 5] [CONFIG ...]
  CONFIG is TRANSPORT:IO:EXEC (transport: direct, syncarbiter, dedicated).

All servers run at once on free ports; rounds interleave them (so background load hits every
target alike) and each run first waits for the machine to be quiet. For every target it runs
  redis-benchmark -p PORT -t ping_mbulk,set,get -c 50 -n N -q [-P 16]
(N = 200000 without pipelining, 1000000 with -P 16) and reports the median requests/s, the
ratio to redis-server, and the CPU seconds each talus thread used over all rounds.
"""
import os, re, socket, statistics, subprocess, sys, time

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def wait_port(port):
    for _ in range(400):
        if subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0:
            return
        time.sleep(0.05)
    raise SystemExit(f"port {port} never answered")

def busy_fraction(interval=0.5):
    def snap():
        with open("/proc/stat") as f:
            v = list(map(int, f.readline().split()[1:]))
        return sum(v), v[3] + v[4]
    t1, i1 = snap(); time.sleep(interval); t2, i2 = snap()
    return 1 - (i2 - i1) / max(1, t2 - t1)

def wait_quiet(limit=0.10, max_wait=180):
    start = time.time()
    while busy_fraction() > limit:
        if time.time() - start > max_wait:
            return False
    return True

def bench(port, pipeline):
    n = 1_000_000 if pipeline > 1 else 200_000
    out = subprocess.run(["redis-benchmark", "-p", str(port), "-t", "ping_mbulk,set,get", "-c", "50",
                          "-n", str(n), "-P", str(pipeline), "-q"], capture_output=True, text=True).stdout
    res = {}
    for m in re.finditer(r"([A-Z_]+): ([0-9.]+) requests per second", out.replace("\r", "\n")):
        res[m.group(1)] = float(m.group(2))
    return res

def thread_cpu(pid):
    hz = os.sysconf("SC_CLK_TCK"); rows = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            s = open(f"/proc/{pid}/task/{t}/stat").read()
        except OSError:
            continue
        name = s[s.index("(") + 1:s.rindex(")")]
        f = s[s.rindex(")") + 2:].split()
        rows.append((name, (int(f[11]) + int(f[12])) / hz))
    return sorted(rows, key=lambda r: -r[1])

def main():
    args = sys.argv[1:]; rounds = 5
    if args[:1] == ["--rounds"]:
        rounds = int(args[1]); args = args[2:]
    configs = args or ["direct:1:1", "direct:2:2", "syncarbiter:1:1", "syncarbiter:2:2",
                       "dedicated:1:1", "dedicated:2:2"]
    binary = os.path.join(os.environ.get("CARGO_TARGET_DIR", "target"), "release/examples/mem_server")
    procs, targets = [], []
    try:
        port = free_port()
        procs.append(subprocess.Popen(["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        targets.append(("redis-server", port, procs[-1]))
        for c in configs:
            t, io, ex = c.split(":"); port = free_port()
            procs.append(subprocess.Popen([binary, "--port", str(port), "--io-threads", io, "--exec-threads", ex,
                                           "--transport", t], env={**os.environ, "RUST_LOG": "warn"}))
            targets.append((f"talus {t} io={io} exec={ex}", port, procs[-1]))
        for _, port, _ in targets:
            wait_port(port)
        results, noisy = {}, 0
        for r in range(rounds):
            for name, port, _ in targets:
                for p in (1, 16):
                    if not wait_quiet():
                        noisy += 1
                    for test, v in bench(port, p).items():
                        results.setdefault((name, p, test), []).append(v)
            print(f"round {r + 1}/{rounds} done", file=sys.stderr)
        print(f"machine: {os.cpu_count()} CPUs; rounds: {rounds}; runs started on a busy machine: {noisy}")
        print(f"{'target':32} {'P':>3} {'test':11} {'median req/s':>13} {'vs redis':>9}   runs")
        for name, port, proc in targets:
            for p in (1, 16):
                for test in ("PING_MBULK", "SET", "GET"):
                    runs = results.get((name, p, test), [])
                    if not runs:
                        continue
                    med = statistics.median(runs)
                    base = statistics.median(results.get(("redis-server", p, test), [med]))
                    print(f"{name:32} {p:>3} {test:11} {med:13.0f} {med / base:9.2f}   "
                          + " ".join(f"{v:.0f}" for v in runs))
        for name, port, proc in targets[1:]:
            print(f"thread CPU seconds, {name}: " + ", ".join(f"{n} {s:.1f}" for n, s in thread_cpu(proc.pid) if s >= 0.1))
    finally:
        for name, port, proc in targets:
            subprocess.run(["redis-cli", "-p", str(port), "shutdown", "nosave"], capture_output=True)
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

if __name__ == "__main__":
    main()

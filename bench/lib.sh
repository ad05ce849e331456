# Helpers shared by the bench scripts (sourced, not run). They use $WORK, the script's
# temporary directory, for the servers' logs.

# A free port, chosen by the OS (bind to port 0), outside any port a connection holds.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_ready PORT PID NAME: polls PING until the server on PORT answers; fails (showing
# $WORK/NAME.log) if process PID exits first or nothing answers within 30 s.
wait_ready() {
    local i
    for i in $(seq 300); do
        if [ "$(redis-cli -p "$1" ping 2>/dev/null || true)" = PONG ]; then return 0; fi
        kill -0 "$2" 2>/dev/null || { echo "$3 exited during start-up:" >&2; cat "$WORK/$3.log" >&2; exit 1; }
        sleep 0.1
    done
    echo "$3 did not answer PING on port $1" >&2
    cat "$WORK/$3.log" >&2
    exit 1
}

# stop_pids PID...: asks each process to stop (SIGTERM), gives it 5 s, then kills it.
stop_pids() {
    local pid
    for pid in "$@"; do
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
        fi
    done
}

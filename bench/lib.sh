# Helpers shared by the bench scripts (sourced, not run; the script sets ROOT, the repository,
# first). Servers keep their data and logs in $WORK, the script's temporary directory
# (start_work).

# A free port, chosen by the OS (bind to port 0), outside any port a connection holds.
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# bench_defaults: the load knobs the scripts share, from the environment or their defaults.
bench_defaults() {
    CLIENTS="${CLIENTS:-50}"
    REQUESTS="${REQUESTS:-200000}"
    KEYSPACE="${KEYSPACE:-100000}"
    TALUS_ARGS="${TALUS_ARGS:-}"
    # Paired rounds per measure: this VM's speed drifts by ±15 % within seconds, so one
    # redis run followed by one talus run can land in different weather; alternating which
    # server goes first and taking the median ratio of ROUNDS pairs evens that out.
    ROUNDS="${ROUNDS:-3}"
}

# median: the median of the numbers on stdin, one a line (the lower middle one of an even
# count).
median() {
    sort -g | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)]; else print "-" }'
}

# paired LABEL FUNC: runs "FUNC PORT" (which prints one number, e.g. requests per second) on
# redis-server and Talus ROUNDS times, redis first in odd rounds and Talus first in even ones;
# prints a line per round and a median line (each column's median; the ratio column is the
# median of the rounds' ratios).
paired() {
    local label=$1 fn=$2 r a b
    : >"$WORK/paired.redis"
    : >"$WORK/paired.talus"
    : >"$WORK/paired.ratio"
    for r in $(seq "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then
            a="$("$fn" "$REDIS_PORT")"
            b="$("$fn" "$TALUS_PORT")"
        else
            b="$("$fn" "$TALUS_PORT")"
            a="$("$fn" "$REDIS_PORT")"
        fi
        check_talus "during round $r of $label"
        echo "$a" >>"$WORK/paired.redis"
        echo "$b" >>"$WORK/paired.talus"
        printf '%s\n' "$(ratio "$b" "$a")" >>"$WORK/paired.ratio"
        printf '%-22s %6s %14s %14s %7s\n' "$label" "$r" "$a" "$b" "$(ratio "$b" "$a")"
    done
    printf '%-22s %6s %14s %14s %7s\n' "$label" median "$(median <"$WORK/paired.redis")" \
        "$(median <"$WORK/paired.talus")" "$(median <"$WORK/paired.ratio")"
}

# paired_header: the column titles of paired's lines.
paired_header() {
    printf '%-22s %6s %14s %14s %7s\n' test round "redis" "talus" ratio
}

# require_tools TOOL...: fails naming the first one that is not installed.
require_tools() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null 2>&1 || {
            echo "$tool not found: apt-get install redis-server redis-tools python3" >&2
            exit 1
        }
    done
}

# build_talus [WHAT [CARGO_ARGS...]]: unless NO_BUILD=1, builds talus in release mode (and what
# CARGO_ARGS add, WHAT naming it all in the message), then finds the binary (find_talus).
build_talus() {
    if [ "${NO_BUILD:-0}" != 1 ]; then
        echo "building ${1:-talus} (release)..." >&2
        (cd "$ROOT" && cargo build --release --bin talus "${@:2}" >&2)
    fi
    find_talus
}

# find_talus: sets TARGET_DIR and TALUS_BIN, the existing release binary (fails without one).
find_talus() {
    TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
    TALUS_BIN="$TARGET_DIR/release/talus"
    [ -x "$TALUS_BIN" ] || { echo "no binary at $TALUS_BIN (set CARGO_TARGET_DIR?)" >&2; exit 1; }
}

# start_work NAME: makes $WORK (talus-NAME.XXXXXX in the temporary directory); on any exit the
# processes started in it ($WATCH_PID, $TALUS_PID, $REDIS_PID) are stopped and it is removed.
start_work() {
    WORK="$(mktemp -d -t "talus-$1.XXXXXX")"
    WATCH_PID=""
    TALUS_PID=""
    REDIS_PID=""
    trap stop_work EXIT INT TERM
}

stop_work() {
    stop_pids "$WATCH_PID" "$TALUS_PID" "$REDIS_PID"
    rm -rf "$WORK"
}

# start_redis [ARGS...]: redis-server without persistence on a free port, with ARGS; sets
# REDIS_PORT and REDIS_PID once it answers.
start_redis() {
    REDIS_PORT="$(free_port)"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$WORK" "$@" >"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    wait_ready "$REDIS_PORT" "$REDIS_PID" redis
}

# start_talus [ARGS...]: $TALUS_BIN as launch_talus names it "talus"; sets TALUS_PORT and
# TALUS_PID once it answers.
start_talus() {
    launch_talus talus "$TALUS_BIN" "$@"
    TALUS_PORT=$LAUNCHED_PORT
    TALUS_PID=$LAUNCHED_PID
}

# launch_talus NAME BIN [ARGS...]: BIN (RUST_LOG warn unless set) on a free port other than
# redis-server's, with ARGS, its data in $WORK/NAME-data and its log in $WORK/NAME.log; sets
# LAUNCHED_PORT and LAUNCHED_PID once it answers.
launch_talus() {
    local name=$1 bin=$2
    shift 2
    LAUNCHED_PORT="$(free_port)"
    while [ "$LAUNCHED_PORT" = "${REDIS_PORT:-}" ]; do LAUNCHED_PORT="$(free_port)"; done
    RUST_LOG="${RUST_LOG:-warn}" "$bin" --port "$LAUNCHED_PORT" --bind 127.0.0.1 \
        --dir "$WORK/$name-data" "$@" >"$WORK/$name.log" 2>&1 &
    LAUNCHED_PID=$!
    wait_ready "$LAUNCHED_PORT" "$LAUNCHED_PID" "$name"
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

# check_talus [WHEN]: fails, showing the end of its log, if talus has exited ("talus exited
# WHEN:").
check_talus() {
    kill -0 "$TALUS_PID" 2>/dev/null && return 0
    echo "talus exited${1:+ $1}:" >&2
    tail -n 50 "$WORK/talus.log" >&2
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

# print_header REDIS_FLAGS TALUS_NAME: the machine, redis-server and talus lines that head a
# report (REDIS_FLAGS follows "--appendonly no", TALUS_ARGS follows TALUS_NAME).
print_header() {
    local model
    model="$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "machine: $(nproc) cores, ${model:-unknown CPU}, $(uname -sr)"
    echo "redis:   $(redis-server --version | sed 's/ sha=.*//') (--save '' --appendonly no$1)"
    echo "talus:   $2 ${TALUS_ARGS:-(default threads)}"
}

# git_rev: the short commit of the checkout, or "-".
git_rev() {
    git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '-'
}

# ratio A B: A / B with three decimals (two would show 0.497 as 0.50), "-" when B is not
# positive.
ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'
}

# rps_lines: redis-benchmark -q output in, "TEST<TAB>requests per second" out, a line a test
# (-q prints progress lines ending in \r, then "SET: 123456.78 requests per second, ...").
rps_lines() {
    tr '\r' '\n' | grep 'requests per second' |
        sed -E 's/^(.*): ([0-9.]+) requests per second.*/\1\t\2/'
}

# last_rps: redis-benchmark -q output in, the requests per second of its last test out.
last_rps() {
    rps_lines | tail -n1 | cut -f2
}

# compare_part TESTS: part 1 of the family benchmarks, unless SKIP_THROUGHPUT=1: bench/compare.sh
# for the redis-benchmark tests TESTS (comma-separated), without pipelining unless PIPELINES
# says otherwise. The families' issues give their command without `-d`, so the values are
# redis-benchmark's default 3 bytes unless DATASIZE says otherwise (compare.sh alone: 64).
compare_part() {
    if [ "${SKIP_THROUGHPUT:-0}" = 1 ]; then
        return 0
    fi
    echo "== redis-benchmark: ${1//,/, } =="
    TESTS="$1" CLIENTS="$CLIENTS" REQUESTS="$REQUESTS" KEYSPACE="$KEYSPACE" \
        DATASIZE="${DATASIZE:-3}" PIPELINES="${PIPELINES:-1}" "$ROOT/bench/compare.sh"
    echo
}

# bench_py ARGS...: python3 with bench/resp.py importable (and no bytecode left in bench/).
bench_py() {
    PYTHONDONTWRITEBYTECODE=1 PYTHONPATH="$ROOT/bench${PYTHONPATH:+:$PYTHONPATH}" python3 "$@"
}

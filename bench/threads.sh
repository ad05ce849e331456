#!/usr/bin/env bash
# Runs bench/compare.sh for several io-threads x exec-threads combinations and prints one
# table of Talus's requests per second (the median of compare.sh's paired rounds) and its ratio
# to redis-server in the same run (the median of the rounds' ratios), to choose the thread
# defaults. Usage: bench/threads.sh ["1x1 1x2 2x1 2x2"]
# The environment knobs of compare.sh apply (REQUESTS, CLIENTS, TESTS, ...).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
COMBOS="${1:-1x1 1x2 2x1 2x2}"

if [ "${NO_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release --bin talus >&2)
fi

out="$(mktemp -t talus-threads.XXXXXX)"
trap 'rm -f "$out"' EXIT
for combo in $COMBOS; do
    io="${combo%x*}"
    ex="${combo#*x}"
    echo "== io-threads $io, exec-threads $ex" >&2
    NO_BUILD=1 TALUS_ARGS="--io-threads $io --exec-threads $ex" "$ROOT/bench/compare.sh" |
        tee /dev/stderr |
        awk -v io="$io" -v ex="$ex" '
            /^machine:/ { sub(/^machine: +/, ""); machine = $0 }
            / median +[0-9.]+ +[0-9.]+ +[0-9.]+$/ {
                n = NF; ratio = $n; talus = $(n-1); redis = $(n-2); p = $(n-4)
                name = $1; for (i = 2; i <= n-5; i++) name = name " " $i
                printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", io, ex, name, p, talus, ratio, machine
            }' >>"$out"
done

echo
printf '%-4s %-4s %-16s %4s %12s %7s\n' io exec test "-P" "talus rps" "x redis"
awk -F'\t' '{ printf "%-4s %-4s %-16s %4s %12s %7s\n", $1, $2, $3, $4, $5, $6 }' "$out"
echo "machine: $(head -n1 "$out" | cut -f7)"

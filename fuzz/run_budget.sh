#!/usr/bin/env bash
# Runs one fuzz target until it has used CPU_SECONDS of CPU time (user + system),
# whatever the machine's load: libFuzzer's -max_total_time counts wall time, which on a
# busy shared machine is much more than the CPU the fuzzer got. Runs the already built
# binary in slices of at most 60 s wall time (the corpus carries over), then prints the
# totals: CPU seconds, executions, corpus files, crash artifacts.
#
#   fuzz/run_budget.sh TARGET CPU_SECONDS [extra libFuzzer flags]
#
# Build first: (cd fuzz && cargo fuzz build -s none)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="$1"; budget="$2"; shift 2
bin="$here/target/x86_64-unknown-linux-gnu/release/$target"
corpus="$here/corpus/$target"
artifacts="$here/artifacts/$target"
mkdir -p "$corpus" "$artifacts"
[ -x "$bin" ] || { echo "build first: (cd fuzz && cargo fuzz build -s none $target)" >&2; exit 2; }
log="$(mktemp)"
cpu=0; runs=0; wall_start=$SECONDS
while awk -v c="$cpu" -v b="$budget" 'BEGIN { exit !(c < b) }'; do
    slice=$(awk -v c="$cpu" -v b="$budget" 'BEGIN { s = b - c; if (s > 60) s = 60; if (s < 5) s = 5; printf "%d", s }')
    TIMEFORMAT='%U %S'
    t=$( { time "$bin" -artifact_prefix="$artifacts/" -max_total_time="$slice" \
            -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 "$@" "$corpus" >"$log" 2>&1 || true; } 2>&1 )
    cpu=$(awk -v c="$cpu" -v t="$t" 'BEGIN { split(t, a, " "); printf "%.1f", c + a[1] + a[2] }')
    n=$(grep -o '^Done [0-9]*' "$log" | awk '{ print $2 }' | tail -1)
    runs=$((runs + ${n:-0}))
    if grep -qE 'ERROR: libFuzzer|panicked|SUMMARY:' "$log"; then
        echo "crash in $target:"; grep -E 'panicked|ERROR|Test unit written|SUMMARY' "$log" | head -20
        break
    fi
done
final=$(grep -E 'DONE|stat::' "$log" | head -3 | tr '\n' ' ')
echo "$target: cpu ${cpu} s, wall $((SECONDS - wall_start)) s, executions $runs, corpus $(ls "$corpus" | wc -l) files, artifacts $(ls "$artifacts" | wc -l); last slice: $final"
rm -f "$log"

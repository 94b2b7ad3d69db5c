# SPDX-License-Identifier: GPL-2.0-or-later
# What the benchmarks share (sourced by bench/run.sh and bench/assign.sh).

# The median of a file of nanosecond times, one a line, in ms with two decimals.
bench_median_ms() {
    sort -n "$1" | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.2f", m / 1e6 }'
}

# bench_write SECTION REPORT RESULTS: puts REPORT (a file that starts with the SECTION
# heading) into RESULTS in place of that section (up to the next "## " heading), keeping every
# other section; appended when RESULTS has none yet.
bench_write() {
    local section=$1 report=$2 results=$3
    if [[ -f $results ]] && grep -qxF "$section" "$results"; then
        awk -v sec="$section" -v rep="$report" '
            $0 == sec { while ((getline line < rep) > 0) print line; skip = 1; next }
            skip && /^## / { skip = 0 }
            !skip { print }' "$results" >"$report.new"
        cat "$report.new" >"$results"
        rm -f "$report.new"
    else
        {
            if [[ -s $results ]]; then echo; else printf '# Benchmark results\n\n'; fi
            cat "$report"
        } >>"$results"
    fi
    echo "wrote $results" >&2
}

# The options every benchmark takes: bench_opt "$@" sets builddir, runs, results, write or keep
# from $1 (and $2) and bench_shift to how many arguments it took; 1 when $1 is not one of them.
bench_opt() {
    case $1 in
    -B | -n | -o)
        if (($# < 2)); then
            echo "$1 wants a value" >&2
            return 1
        fi ;;
    esac
    case $1 in
    -B) builddir=$2; bench_shift=2 ;;
    -n) runs=$2; bench_shift=2 ;;
    -o) results=$2; bench_shift=2 ;;
    --no-write) write=0; bench_shift=1 ;;
    --keep) keep=1; bench_shift=1 ;;
    *) return 1 ;;
    esac
}

# Their usage lines (after the script's own).
bench_opt_usage() {
    cat <<EOF
  -B DIR     meson build directory (default: $builddir)
  -n RUNS    timed runs of each command (default: $runs)
  -o FILE    results file to update (default: bench/RESULTS.md)
  --no-write print the results only
  --keep     keep the temporary directory
EOF
}

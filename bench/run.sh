#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The list/survey benchmark: gpupart against lspci and the classic IOMMU-group shell loop, on
# the `large` fixture host tree. See bench/README.md.
#
#   bench/run.sh [-B BUILDDIR] [-n RUNS] [-t TREE] [-o RESULTS.md] [--no-write] [--keep]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"
builddir=$top/build
runs=30
tree=""
results=$here/RESULTS.md
write=1
keep=0
section="## list/survey benchmark"

usage() {
    sed -n '4,7p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    echo "  -t TREE    use this existing host tree instead of building the \`large\` fixture"
    bench_opt_usage
}

while (($#)); do
    case $1 in
    -t) tree=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *)
        bench_opt "$@" || { echo "run.sh: unknown argument '$1'" >&2; usage >&2; exit 2; }
        shift "$bench_shift" ;;
    esac
done

gpupart=$builddir/src/cli/gpupart
fixture=$builddir/tests/fixture/gp-fixture
die() { echo "run.sh: $*" >&2; exit 1; }
for t in lspci strace; do
    command -v "$t" >/dev/null || die "$t is not installed (apt-get install pciutils strace)"
done
[[ -x /usr/bin/time ]] || die "/usr/bin/time is not installed (apt-get install time)"
if [[ ! -x $gpupart || ( -z $tree && ! -x $fixture ) ]]; then
    ninja -C "$builddir" >/dev/null || die "cannot build $builddir"
fi
[[ -x $gpupart ]] || die "no $gpupart"

work=$(mktemp -d /tmp/gpupart-bench.XXXXXX)
cleanup() { ((keep)) && echo "kept $work" >&2 || rm -rf "$work"; }
trap cleanup EXIT

if [[ -z $tree ]]; then
    [[ -x $fixture ]] || die "no $fixture (the fixture builder is built with -Dtests=true)"
    "$fixture" --list | grep -q '^large\b' || die "gp-fixture has no 'large' scenario yet"
    tree=$work/large
    "$fixture" large "$tree" >/dev/null || die "gp-fixture large failed"
    scenario=large
else
    scenario=$(basename "$tree")
fi
[[ -d $tree/sys/bus/pci/devices ]] || die "$tree is not a host tree"
sysfs=$tree/sys/bus/pci

# --- the tree -----------------------------------------------------------------------------
n_funcs=0 n_gpus=0 n_gpu_vfs=0 n_vfs=0 n_groups=0
declare -A is_gpu=()
for d in "$sysfs"/devices/*; do
    ((++n_funcs))
    a=${d##*/}
    class=""
    read -r class <"$d/class" || true
    if [[ -e $d/physfn || -L $d/physfn ]]; then
        ((++n_vfs))
    elif [[ $class == 0x03* ]]; then
        is_gpu[$a]=1
        ((++n_gpus))
    fi
done
for d in "$sysfs"/devices/*; do
    [[ -L $d/physfn ]] || continue
    pf=$(readlink "$d/physfn")
    if [[ -n ${is_gpu[${pf##*/}]:-} ]]; then ((++n_gpu_vfs)); fi
done
for g in "$tree"/sys/kernel/iommu_groups/*; do ((++n_groups)); done
n_detailed=$((n_gpus + n_gpu_vfs))

# --- the commands ---------------------------------------------------------------------------
names=("gpupart list --json" "gpupart survey --json" "lspci -vvv" "lspci -nn" "shell loop (lspci -nns per device)")
cmds=(
    "$gpupart --root $tree list --json"
    "$gpupart --root $tree survey --json"
    "lspci -vvv -A linux-sysfs -O sysfs.path=$sysfs"
    "lspci -nn -A linux-sysfs -O sysfs.path=$sysfs"
    "bash $here/iommu-loop.sh $tree"
)

echo "tree: $tree ($n_funcs PCI functions, $n_gpus GPUs, $n_gpu_vfs GPU VFs, $n_vfs VFs in all, $n_groups IOMMU groups)"

# Sanity: every command must work on the tree (survey exits 3 when a device is not assignable).
for i in "${!cmds[@]}"; do
    set +e
    ${cmds[i]} >/dev/null 2>"$work/err"
    rc=$?
    set -e
    if ((rc != 0 && !(i == 1 && rc == 3))); then
        cat "$work/err" >&2
        die "'${names[i]}' failed with status $rc"
    fi
done

# --- wall time: medians ---------------------------------------------------------------------
declare -a median_ms cpu_ms
timer=""
if command -v hyperfine >/dev/null; then
    timer="hyperfine $(hyperfine --version | awk '{print $2}') ($runs runs, 2 warm-up, -N)"
    for i in "${!cmds[@]}"; do
        echo "timing: ${names[i]}" >&2
        warm=2
        [[ $i == 4 ]] && warm=1
        hyperfine -N -i --style none --warmup "$warm" --runs "$runs" \
            --export-csv "$work/h$i.csv" "${cmds[i]}" >/dev/null 2>&1 ||
            die "hyperfine failed on '${names[i]}'"
        median_ms[i]=$(awk -F, 'NR == 2 { printf "%.2f", $4 * 1000 }' "$work/h$i.csv")
        cpu_ms[i]=$(awk -F, 'NR == 2 { printf "%.1f / %.1f ms", $5 * 1000, $6 * 1000 }' "$work/h$i.csv")
    done
else
    timer="date +%s%N loop ($runs runs after 1 warm-up; hyperfine not installed)"
    for i in "${!cmds[@]}"; do
        echo "timing: ${names[i]}" >&2
        ${cmds[i]} >/dev/null 2>&1 || true
        : >"$work/t$i"
        for ((r = 0; r < runs; r++)); do
            t0=$(date +%s%N)
            ${cmds[i]} >/dev/null 2>&1 || true
            t1=$(date +%s%N)
            echo $((t1 - t0)) >>"$work/t$i"
        done
        median_ms[i]=$(bench_median_ms "$work/t$i")
    done
fi

# "1/N": the first command takes 1/N of the second's time ("N×" when it is slower)
# gpupart list with the PCI name database hidden (root only: a private mount namespace), to show
# what loading pci.ids costs; skipped where that cannot be done.
noname_ms=""
if ((EUID == 0)) && [[ $timer == hyperfine* ]] && command -v unshare >/dev/null &&
    unshare -m true 2>/dev/null; then
    hide=""
    for f in /usr/share/misc/pci.ids /usr/share/misc/pci.ids.gz /usr/share/hwdata/pci.ids \
        /usr/share/hwdata/pci.ids.gz /etc/udev/hwdb.bin /usr/lib/udev/hwdb.bin \
        /etc/systemd/hwdb/hwdb.bin /usr/lib/systemd/hwdb/hwdb.bin; do
        [[ -f $f ]] && hide+="mount --bind /dev/null $f && "
    done
    echo "timing: gpupart list --json without the PCI name database" >&2
    if unshare -m bash -c "$hide hyperfine -N -i --style none --warmup 2 --runs $runs \
        --export-csv $work/hn.csv '${cmds[0]}'" >/dev/null 2>&1; then
        noname_ms=$(awk -F, 'NR == 2 { printf "%.2f", $4 * 1000 }' "$work/hn.csv")
    fi
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a <= 0 || b <= 0) print "n/a";
    else if (a <= b) printf (b / a < 100 ? "1/%.1f" : "1/%.0f"), b / a; else printf "%.1f×", a / b }'; }
le() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a <= b) }'; }

# --- syscalls -------------------------------------------------------------------------------
declare -a sc_total
for i in 0 1 2 3 4; do
    echo "strace: ${names[i]}" >&2
    strace -c -f -o "$work/s$i" ${cmds[i]} >/dev/null 2>&1 || true
    sc_total[i]=$(awk '$NF == "total" { print $4 }' "$work/s$i")
done
per_dev() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
# gpupart list alone (one process): which phase of the scan the syscalls belong to
strace -o "$work/trace0" ${cmds[0]} >/dev/null 2>&1 || true
awk -f "$here/strace-phases.awk" "$work/trace0" >"$work/phases0"

# --- peak RSS -------------------------------------------------------------------------------
declare -a rss_kb
for i in 0 1 2 3; do
    /usr/bin/time -v -o "$work/r$i" ${cmds[i]} >/dev/null 2>&1 || true
    rss_kb[i]=$(awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$work/r$i")
done
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# --- targets --------------------------------------------------------------------------------
met() { if "$@"; then echo met; else echo "**not met**"; fi; }
worst_ms=${median_ms[0]}
le "${median_ms[1]}" "$worst_ms" || worst_ms=${median_ms[1]}
t_lspci=$(met le "$worst_ms" "$(awk -v x="${median_ms[2]}" 'BEGIN { print x / 10 }')")
t_loop=$(met le "$worst_ms" "$(awk -v x="${median_ms[4]}" 'BEGIN { print x / 100 }')")
sc_list_dev=$(per_dev "${sc_total[0]}" "$n_funcs")
sc_survey_dev=$(per_dev "${sc_total[1]}" "$n_funcs")
worst_sc=$sc_list_dev
le "$sc_survey_dev" "$worst_sc" || worst_sc=$sc_survey_dev
t_sc=$(met le "$worst_sc" 20)
worst_rss=${rss_kb[0]}
((rss_kb[1] > worst_rss)) && worst_rss=${rss_kb[1]}
t_rss=$(met awk -v k="$worst_rss" 'BEGIN { exit !(k < 10240) }')

# --- report ---------------------------------------------------------------------------------
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
[[ -z $cpu ]] && cpu=$(uname -m)
report=$work/report.md
{
    echo "$section"
    echo
    echo "Run by \`bench/run.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo
    echo "- Machine: $(nproc) CPUs, $cpu, Linux $(uname -r)"
    echo "- Tree: \`$scenario\` fixture: $n_funcs PCI functions ($n_gpus GPUs with $n_gpu_vfs VFs," \
        "$n_vfs VFs in all), $n_groups IOMMU groups; page cache warm"
    echo "- gpupart $("$gpupart" --version | awk '{print $2}') ($(basename "$builddir") build)," \
        "$(lspci --version), timer: $timer"
    echo
    echo "| command | median | user / sys (mean) | gpupart list / it | gpupart survey / it | syscalls | syscalls per PCI function | peak RSS |"
    echo "|---|---:|---:|---:|---:|---:|---:|---:|"
    for i in "${!cmds[@]}"; do
        r1=$(ratio "${median_ms[0]}" "${median_ms[i]}")
        r2=$(ratio "${median_ms[1]}" "${median_ms[i]}")
        ((i <= 1)) && r1="" r2=""
        rss="-"
        [[ -n ${rss_kb[i]:-} ]] && rss="$(mib "${rss_kb[i]}") MiB"
        echo "| \`${names[i]}\` | ${median_ms[i]} ms | ${cpu_ms[i]:--} | $r1 | $r2 | ${sc_total[i]} |" \
            "$(per_dev "${sc_total[i]}" "$n_funcs") | $rss |"
    done
    echo
    if [[ -n $noname_ms ]]; then
        echo "Without the PCI name database (pci.ids and hwdb.bin hidden in a private mount namespace)" \
            "\`gpupart list --json\` takes $noname_ms ms, $(ratio "$noname_ms" "${median_ms[2]}") of \`lspci -vvv\`:" \
            "$(awk -v a="${median_ms[0]}" -v b="$noname_ms" 'BEGIN { if (a > b) printf "looking up the names costs %.1f ms.", a - b;
                else printf "no faster: with the database gone gpupart falls back to libpci, which fails slowly, so the name lookup (a bisection of pci.ids) costs less than the noise." }')"
        echo
    fi
    echo "Syscalls per device read in detail (the $n_detailed GPUs and GPU VFs):" \
        "list $(per_dev "${sc_total[0]}" "$n_detailed"), survey $(per_dev "${sc_total[1]}" "$n_detailed")."
    echo
    echo "Targets:"
    echo
    echo "| target | measured | result |"
    echo "|---|---|---|"
    echo "| gpupart ≤ 1/10 of \`lspci -vvv\` | list $(ratio "${median_ms[0]}" "${median_ms[2]}"), survey $(ratio "${median_ms[1]}" "${median_ms[2]}") | $t_lspci |"
    echo "| gpupart ≤ 1/100 of the shell loop | list $(ratio "${median_ms[0]}" "${median_ms[4]}"), survey $(ratio "${median_ms[1]}" "${median_ms[4]}") | $t_loop |"
    echo "| ≤ 20 syscalls per device read | list $sc_list_dev, survey $sc_survey_dev per PCI function | $t_sc |"
    echo "| < 10 MiB peak RSS | list $(mib "${rss_kb[0]}") MiB, survey $(mib "${rss_kb[1]}") MiB | $t_rss |"
    echo
    echo "Where gpupart's syscalls go (\`strace -c -f\`, list / survey):"
    echo
    echo "| syscall | list | survey |"
    echo "|---|---:|---:|"
    awk 'FNR == NR { if ($1 ~ /^[0-9.]+$/ && $NF != "total") l[$NF] = $4; next }
         { if ($1 ~ /^[0-9.]+$/ && $NF != "total") { s[$NF] = $4; if (!($NF in l)) l[$NF] = 0 } }
         END { for (k in l) printf "%s %d %d\n", k, l[k], s[k] }' "$work/s0" "$work/s1" |
        sort -k3,3nr | head -8 | awk '{ printf "| %s | %d | %d |\n", $1, $2, $3 }'
    echo
    echo "gpupart list's syscalls by phase (\`strace\` of the process, \`bench/strace-phases.awk\`):"
    echo
    echo "| phase | syscalls | share |"
    echo "|---|---:|---:|"
    awk '$1 == "total" { t = $2 } { n[$1] = $2 }
         END { split("startup class detail host names output other", o, " ")
               for (i = 1; i <= 7; i++) if (o[i] in n)
                   printf "| %s | %d | %.0f%% |\n", o[i], n[o[i]], 100 * n[o[i]] / t }' "$work/phases0"
    echo
    echo "Phases: *class* is the first pass over every function (its \`class\`, and \`physfn\`"
    echo "for display-class ones); *detail* the full reads of the GPUs, their VFs, the ports above"
    echo "and their IOMMU-group companions; *names* the PCI name lookup (udev hwdb, then pci.ids"
    echo "through libpci); *host* IOMMU groups, \`/proc\` and module state."
    echo
} >"$report"

cat "$report"

if ((write)); then
    bench_write "$section" "$report" "$results"
fi

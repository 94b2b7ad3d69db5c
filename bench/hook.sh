#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The hook benchmark (issue 13): `gpupart hook qemu DOMAIN prepare begin -` on the large
# fixture for a domain with one partition whose state is already right (its reservation
# record its own, the VF on nvidia with its type), against `gpupart list --json` on the same
# tree. The hook reads only what the domain names; list reads the whole host. See
# bench/README.md.
#
#   bench/hook.sh [-B BUILDDIR] [-n RUNS] [-o RESULTS.md] [--no-write] [--keep]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"
builddir=$top/build
runs=30
results=$here/RESULTS.md
write=1
keep=0
section="## hook benchmark"

usage() {
    sed -n '4,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    bench_opt_usage
}

while (($#)); do
    case $1 in
    -h | --help) usage; exit 0 ;;
    *)
        bench_opt "$@" || { echo "hook.sh: unknown argument '$1'" >&2; usage >&2; exit 2; }
        shift "$bench_shift" ;;
    esac
done

die() { echo "hook.sh: $*" >&2; exit 1; }
gpupart=$builddir/src/cli/gpupart
fixture=$builddir/tests/fixture/gp-fixture
if [[ ! -x $gpupart || ! -x $fixture ]]; then
    ninja -C "$builddir" >/dev/null || die "cannot build $builddir"
fi
[[ -x $fixture ]] || die "no $fixture (built with -Dtests=enabled)"

work=$(mktemp -d /tmp/gpupart-hook.XXXXXX)
cleanup() { ((keep)) && echo "kept $work" >&2 || rm -rf "$work"; }
trap cleanup EXIT
tree=$work/tree
report=$work/report.md
"$fixture" large "$tree" >/dev/null || die "cannot write the large fixture"

# the first partition of the first partitioned GPU, as list says
read -r gpu vf <<<"$("$gpupart" --root "$tree" -q list --json | python3 -c '
import json, sys
for g in json.load(sys.stdin)["gpus"]:
    if g["partitions"]:
        print(g["address"], g["partitions"][0]["address"]); break')"
[[ -n ${vf:-} ]] || die "the large fixture has no partition"
IFS=':.' read -r d b s f <<<"$vf"
alias=ua-gpupart-${vf//[:.]/-}
cat >"$work/dom.xml" <<EOF
<domain type='kvm'>
  <name>bench</name>
  <uuid>b0b0b0b0-0000-4000-8000-000000000001</uuid>
  <memory unit='KiB'>1048576</memory>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <devices>
    <hostdev mode='subsystem' type='pci' managed='no'>
      <source><address domain='0x$d' bus='0x$b' slot='0x$s' function='0x$f'/></source>
      <alias name='$alias'/>
    </hostdev>
  </devices>
</domain>
EOF
sed -e '/<hostdev/,/<\/hostdev>/d' -e 's/bench/plain/' "$work/dom.xml" >"$work/plain.xml"
hook() { "$gpupart" --root "$tree" -q hook qemu -- "$1" prepare begin - <"$2"; }

# the state made right once: the first prepare takes the record
hook bench "$work/dom.xml" || die "the first prepare failed"
[[ -f $tree/run/gpupart/reservations/$vf ]] || die "no reservation record for $vf"
before=$(find "$tree" -path "$tree/.fakekernel" -prune -o -printf '%p %s %T@\n' | sort | md5sum)

for f in t-hook t-list t-plain; do : >"$work/$f"; done
hook bench "$work/dom.xml"
"$gpupart" --root "$tree" -q list --json >/dev/null
echo "timing: $runs of each, alternately" >&2
for ((r = 1; r <= runs; r++)); do
    t0=$(date +%s%N)
    hook bench "$work/dom.xml" || die "prepare failed"
    t1=$(date +%s%N)
    "$gpupart" --root "$tree" -q list --json >/dev/null
    t2=$(date +%s%N)
    hook plain "$work/plain.xml" || die "prepare of a domain naming nothing failed"
    t3=$(date +%s%N)
    echo $((t1 - t0)) >>"$work/t-hook"
    echo $((t2 - t1)) >>"$work/t-list"
    echo $((t3 - t2)) >>"$work/t-plain"
done
after=$(find "$tree" -path "$tree/.fakekernel" -prune -o -printf '%p %s %T@\n' | sort | md5sum)
[[ $before == "$after" ]] || die "a prepare with nothing to do changed the tree"
hook_ms=$(bench_median_ms "$work/t-hook")
list_ms=$(bench_median_ms "$work/t-list")
plain_ms=$(bench_median_ms "$work/t-plain")
ratio=$(awk -v a="$hook_ms" -v b="$list_ms" 'BEGIN { printf "%.2f", a / b }')
met() { awk "BEGIN { exit !($1) }" && echo met || echo "**not met**"; }
n_devs=$(ls "$tree/sys/bus/pci/devices" | wc -l)
cpu=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)

{
    echo "$section"
    echo
    echo "Run by \`bench/hook.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo
    echo "- Machine: $(nproc) CPUs, ${cpu:-$(uname -m)}, Linux $(uname -r), load average" \
        "$(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "- Host: the \`large\` fixture ($n_devs PCI functions), read by the real binary" \
        "(\`gpupart --root TREE\`); the domain names $vf (a partition of $gpu) with assign's" \
        "alias, its reservation record its own (taken by a first, untimed prepare)"
    echo "- Timer: \`date +%s%N\` around each command, $runs runs of each after a warm-up," \
        "alternately; the tree checked unchanged after the timed prepares"
    echo
    echo "| command | median | what it reads |"
    echo "|---|---:|---|"
    echo "| \`gpupart --root TREE hook qemu bench prepare begin - < dom.xml\` | $hook_ms ms | the XML, the records, the partition's GPU (two sysfs links find it, then a scan of that GPU only) |"
    echo "| \`gpupart --root TREE list --json\` | $list_ms ms | the whole host |"
    echo "| the same hook for a domain that names no device | $plain_ms ms | the XML only |"
    echo
    echo "| target | measured | result |"
    echo "|---|---|---|"
    echo "| the hook's median below \`list --json\`'s | ${ratio}× | $(met "$hook_ms < $list_ms") |"
    echo
    echo "What bounds the hook: the process and its context (the root, libpci and udev handles)"
    echo "and libxml2 loaded for the XML, the row of a domain that names nothing; then the scan"
    echo "targeted at the one GPU, which still lists every PCI function (one physfn readlink"
    echo "each: a VF is never a GPU of its own) before it details that GPU and its VFs."
} >"$report"

cat "$report"
if ((write)); then
    bench_write "$section" "$report" "$results"
fi

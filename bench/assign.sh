#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The assignment benchmark (issue 12): `gpupart assign` against the manual way (`virsh
# attach-device DOMAIN hostdev.xml --config`, the XML written by hand) on one connection to a
# libvirt daemon of the benchmark's own with 200 defined domains, and 32 concurrent assigns.
# See bench/README.md.
#
#   bench/assign.sh [-B BUILDDIR] [-n RUNS] [-d DOMAINS] [-o RESULTS.md] [--no-write] [--keep]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$here/lib.sh"
builddir=$top/build
runs=20
n_domains=200
n_concurrent=32
results=$here/RESULTS.md
write=1
keep=0
section="## assignment benchmark"

usage() {
    sed -n '4,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    echo "  -d N       defined domains (default: $n_domains, at least $n_concurrent)"
    bench_opt_usage
}

while (($#)); do
    case $1 in
    -d) n_domains=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *)
        bench_opt "$@" || { echo "assign.sh: unknown argument '$1'" >&2; usage >&2; exit 2; }
        shift "$bench_shift" ;;
    esac
done

die() { echo "assign.sh: $*" >&2; exit 1; }
gpupart=$builddir/tests/fakekernel/gpupart-fake
fixture=$builddir/tests/fixture/gp-fixture
((EUID == 0)) || die "needs root (a private mount namespace for the daemon, user nobody)"
for t in unshare setpriv virsh /usr/sbin/libvirtd qemu-system-x86_64; do
    command -v "$t" >/dev/null ||
        die "$t is not installed (apt-get install util-linux libvirt-clients libvirt-daemon-driver-qemu qemu-system-x86)"
done
# domains 1-2 warm up, then RUNS for assign and RUNS for virsh, the last 32 for the concurrent
((runs >= 1 && 2 + 2 * runs <= n_domains - n_concurrent)) ||
    die "wants 2 + 2 * RUNS + $n_concurrent <= DOMAINS"
if [[ ! -x $gpupart || ! -x $fixture ]]; then
    ninja -C "$builddir" >/dev/null || die "cannot build $builddir"
fi
[[ -x $gpupart ]] || die "no $gpupart (the fake-kernel CLI is built with -Dtests=enabled)"

# short: the daemon's socket path must fit sockaddr_un's 108 bytes
work=$(mktemp -d /tmp/gpupart-assign.XXXXXX)
chmod 755 "$work"
daemon_pid=""
stop_daemon() {
    [[ -n $daemon_pid ]] || return 0
    kill "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$daemon_pid" 2>/dev/null || true
    daemon_pid=""
}
cleanup() {
    stop_daemon
    ((keep)) && echo "kept $work" >&2 || rm -rf "$work"
}
trap cleanup EXIT

# --- the host: the large fixture, with enough partitions --------------------------------
# `large` has 7 partitions on 3 of its 8 L40S GPUs; 8 more on each of the other five (through
# the fake kernel, as an admin's set-count would) makes 47, enough for 32 concurrent assigns.
tree=$work/large
"$fixture" large "$tree" >/dev/null || die "gp-fixture large failed"
"$gpupart" --root "$tree" -q set-count 0000:23:00.0 0000:32:00.0 0000:33:00.0 0000:42:00.0 \
    0000:43:00.0 8 --no-libvirt >/dev/null || die "set-count on the tree failed"
free_of() {
    "$gpupart" --root "$tree" -q list --json --connect "$uri" |
        grep -o '"free_partitions": [0-9]*' | awk '{ s += $2 } END { print s + 0 }'
}

# --- the daemon: libvirtd's QEMU driver as nobody, /dev/kvm hidden (tests/lib/daemon.h) ------
# An empty file not writable by nobody over /dev/kvm: libvirt then probes QEMU once, under TCG,
# and caches it; with a /dev/kvm it can open but not use it re-probes on every call (10-25 s).
d=$work/d
mkdir -p "$d/run" "$d/home/.config" "$work/cache"
chmod 777 "$d" "$d/run" "$d/home" "$d/home/.config" "$work/cache"
: >"$d/kvm"
chmod 644 "$d/kvm"
cat >"$work/daemon.sh" <<EOF
set -e
mount --make-rprivate /
[ -e /dev/kvm ] && mount --bind "$d/kvm" /dev/kvm
exec setpriv --reuid=nobody --regid=nogroup --clear-groups env -u LIBVIRT_DEFAULT_URI \
    HOME="$d/home" XDG_CONFIG_HOME="$d/home/.config" XDG_DATA_HOME="$d/home/.local/share" \
    XDG_RUNTIME_DIR="$d/run" XDG_CACHE_HOME="$work/cache" /usr/sbin/libvirtd
EOF
setsid unshare -m bash "$work/daemon.sh" >"$d/log" 2>&1 &
daemon_pid=$!
sock=$d/run/libvirt/libvirt-sock
for _ in $(seq 200); do [[ -S $sock ]] && break; sleep 0.05; done
[[ -S $sock ]] || { tail "$d/log" >&2; die "the daemon did not start"; }
uri="qemu+unix:///session?socket=$sock"

# --- 200 defined domains (one virsh for all: the first define probes QEMU) --------------------
dom() { printf 'bench-%03d' "$1"; }
cmds=""
for ((i = 1; i <= n_domains; i++)); do
    f=$work/dom-$i.xml
    printf '%s\n' "<domain type='qemu'><name>$(dom "$i")</name><memory unit='KiB'>131072</memory>" \
        "<os><type arch='x86_64' machine='q35'>hvm</type></os></domain>" >"$f"
    cmds+="define $f; "
done
echo "defining $n_domains domains (the first probes QEMU)" >&2
t0=$(date +%s%N)
virsh -q -c "$uri" "$cmds" >/dev/null || { tail "$d/log" >&2; die "define failed"; }
define_s=$(awk -v n=$(($(date +%s%N) - t0)) 'BEGIN { printf "%.1f", n / 1e9 }')
n_defined=$(virsh -q -c "$uri" list --all --name | grep -c .)
((n_defined == n_domains)) || die "$n_defined domains defined, want $n_domains"
free0=$(free_of)

# --- medians: assign (then unassign, untimed) against attach-device (then detach) ------------
# By hand, an admin writes the hostdev of a free VF (gpupart's first pick, here) and attaches it
# to the domain's persistent definition: the same libvirt call assign makes, without reading
# every domain to know what is free, the records, or the host lock.
cat >"$work/hostdev.xml" <<'EOF'
<hostdev mode='subsystem' type='pci' managed='no'>
  <source><address domain='0x0000' bus='0x12' slot='0x00' function='0x7'/></source>
</hostdev>
EOF
ms() { awk -v n="$1" 'BEGIN { printf "%.2f", n / 1e6 }'; }
: >"$work/t-assign"
: >"$work/t-virsh"
echo "timing: $runs assigns and $runs attach-devices, alternately" >&2
# one warm-up of each
"$gpupart" --root "$tree" -q assign "$(dom 1)" --connect "$uri" >/dev/null
"$gpupart" --root "$tree" -q unassign "$(dom 1)" --connect "$uri" >/dev/null
virsh -q -c "$uri" attach-device "$(dom 2)" "$work/hostdev.xml" --config >/dev/null
virsh -q -c "$uri" detach-device "$(dom 2)" "$work/hostdev.xml" --config >/dev/null
for ((r = 1; r <= runs; r++)); do
    a=$(dom $((2 + r))) v=$(dom $((2 + runs + r)))
    t0=$(date +%s%N)
    "$gpupart" --root "$tree" -q assign "$a" --connect "$uri" >/dev/null || die "assign $a failed"
    t1=$(date +%s%N)
    echo $((t1 - t0)) >>"$work/t-assign"
    "$gpupart" --root "$tree" -q unassign "$a" --connect "$uri" >/dev/null || die "unassign $a failed"
    t0=$(date +%s%N)
    virsh -q -c "$uri" attach-device "$v" "$work/hostdev.xml" --config >/dev/null ||
        die "attach-device $v failed"
    t1=$(date +%s%N)
    echo $((t1 - t0)) >>"$work/t-virsh"
    virsh -q -c "$uri" detach-device "$v" "$work/hostdev.xml" --config >/dev/null
done
assign_ms=$(bench_median_ms "$work/t-assign")
virsh_ms=$(bench_median_ms "$work/t-virsh")

# --- where assign's time goes: what reading every domain costs ---------------------------------
# list without libvirt (the scan), list with it (the scan and one libvirt question that reads
# every domain's XML, in its bounded child), and libvirt alone reading every domain's XML
# (one virsh, one dumpxml per domain: no scan, no child, no parsing by gpupart).
dumps=""
for ((i = 1; i <= n_domains; i++)); do dumps+="dumpxml $(dom "$i"); "; done
for f in t-list t-list-lv t-dump; do : >"$work/$f"; done
echo "timing: list, list --connect, $n_domains dumpxml" >&2
for ((r = 1; r <= runs; r++)); do
    t0=$(date +%s%N)
    "$gpupart" --root "$tree" -q list --json >/dev/null
    t1=$(date +%s%N)
    "$gpupart" --root "$tree" -q list --json --connect "$uri" >/dev/null
    t2=$(date +%s%N)
    virsh -q -c "$uri" "$dumps" >/dev/null
    t3=$(date +%s%N)
    echo $((t1 - t0)) >>"$work/t-list"
    echo $((t2 - t1)) >>"$work/t-list-lv"
    echo $((t3 - t2)) >>"$work/t-dump"
done
list_ms=$(bench_median_ms "$work/t-list")
list_lv_ms=$(bench_median_ms "$work/t-list-lv")
dump_ms=$(bench_median_ms "$work/t-dump")
((free0 == $(free_of))) || die "the timed runs left partitions taken"

# --- 32 concurrent assigns -------------------------------------------------------------------
echo "timing: $n_concurrent concurrent assigns ($free0 free partitions)" >&2
t0=$(date +%s%N)
pids=()
for ((i = 1; i <= n_concurrent; i++)); do
    "$gpupart" --root "$tree" -q assign "$(dom $((n_domains - i + 1)))" --connect "$uri" \
        >"$work/c$i.out" 2>"$work/c$i.err" &
    pids+=($!)
done
ok=0 full=0 other=0
for p in "${pids[@]}"; do
    rc=0
    wait "$p" || rc=$?
    case $rc in 0) ((++ok)) ;; 5) ((++full)) ;; *) ((++other)) ;; esac
done
conc_ms=$(ms $(($(date +%s%N) - t0)))
n_resv=$(find "$tree/run/gpupart/reservations" -type f ! -name '.*' | wc -l)
free1=$(free_of)
if ((other)); then
    for ((i = 1; i <= n_concurrent; i++)); do cat "$work/c$i.err"; done >&2
    die "$other concurrent assigns failed"
fi
want_ok=$((free0 < n_concurrent ? free0 : n_concurrent))
((ok == want_ok && n_resv == ok && free1 == free0 - ok)) ||
    die "concurrent: $ok assigned (want $want_ok), $n_resv records, $free1 free after (want $((free0 - ok)))"
# distinct partitions: each reservation record is one device, so ok records are ok partitions;
# and no domain holds two (one record per domain UUID)
dup=$(cat "$tree"/run/gpupart/reservations/* | grep -o 'uuid=[^ ]*' | sort | uniq -d | wc -l)
((dup == 0)) || die "a domain holds two partitions"

# --- report ----------------------------------------------------------------------------------
ratio=$(awk -v a="$assign_ms" -v b="$virsh_ms" 'BEGIN { printf "%.1f", a / b }')
met() { if awk "BEGIN { exit !($1) }"; then echo met; else echo "**not met**"; fi; }
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
report=$work/report.md
{
    echo "$section"
    echo
    echo "Run by \`bench/assign.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo
    echo "- Machine: $(nproc) CPUs, ${cpu:-$(uname -m)}, Linux $(uname -r), load average" \
        "$(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "- Host: the \`large\` fixture with 8 more partitions on each of five L40S GPUs" \
        "($free0 partitions, nvidia-vfio), through the fake kernel (\`gpupart-fake\`)"
    echo "- libvirt: $(virsh -c "$uri" version 2>/dev/null | awk '/Running hypervisor|Using library/ { printf "%s; ", $0 }' | sed 's/; $//')," \
        "libvirtd (QEMU driver, session mode, user nobody) of the benchmark's own, $n_domains" \
        "defined domains (defining them took $define_s s, the first QEMU probe included)"
    echo "- Timer: \`date +%s%N\` around each command, $runs runs of each after a warm-up," \
        "assign and attach-device alternately, each on a domain with no hostdev"
    echo
    echo "| command | median |"
    echo "|---|---:|"
    echo "| \`gpupart-fake --root TREE assign DOMAIN --connect URI\` | $assign_ms ms |"
    echo "| \`virsh -c URI attach-device DOMAIN hostdev.xml --config\` | $virsh_ms ms |"
    echo "| $n_concurrent concurrent \`assign\`s, $free0 free partitions: $ok assigned, $full \"no free partition\" (exit 5) | $conc_ms ms wall |"
    echo
    echo "Where the time goes (medians of $runs runs):"
    echo
    echo "| command | median | what it is |"
    echo "|---|---:|---|"
    echo "| \`gpupart-fake --root TREE list --json\` | $list_ms ms | the scan, no libvirt |"
    echo "| \`gpupart-fake --root TREE list --json --connect URI\` | $list_lv_ms ms | the scan and one libvirt question reading every domain (assign asks the same before the lock) |"
    echo "| \`virsh -c URI 'dumpxml D1; ...; dumpxml D$n_domains'\` | $dump_ms ms | libvirt alone: every domain's XML, one connection |"
    echo
    echo "Targets:"
    echo
    echo "| target | measured | result |"
    echo "|---|---|---|"
    echo "| \`assign\` within 3× of \`virsh attach-device\` | ${ratio}× | $(met "$assign_ms <= 3 * $virsh_ms") |"
    echo "| $n_concurrent concurrent assigns under 2 s | $conc_ms ms | $(met "$conc_ms < 2000") |"
    echo
    echo "assign does what the manual way leaves to the admin: it reads every domain on the"
    echo "connection (live and persistent XML: what is free), the reservation records and the"
    echo "host's partitions, takes the host lock, journals the record and the domain edit as one"
    echo "transaction, and writes the record; the hostdev is one virDomainAttachDeviceFlags"
    echo "(VIR_DOMAIN_AFFECT_CONFIG), the call virsh makes."
    echo
} >"$report"

cat "$report"
if ((write)); then
    bench_write "$section" "$report" "$results"
fi

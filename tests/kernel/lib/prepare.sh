#!/bin/bash
# Prepare everything a kernel-suite boot needs, once per input change:
#   1. the Debian 12 kernel (vmlinuz + the few modules we load) and busybox-static,
#      fetched with `apt-get download` into the cache and unpacked there;
#   2. an initramfs holding busybox, the modules, gpupart + lspci with their shared
#      libraries and pci.ids, the guest init/library and every case script;
#   3. the accelerator choice (a bounded KVM probe, cached).
# Nothing is installed system-wide.  Every case test calls this under one flock, so
# the first does the work and the rest find it done.
#
# env in:  KT_SRC (tests/kernel source dir), KT_CACHE (cache dir), KT_GPUPART (binary),
#          KT_ACCEL (auto|tcg|kvm; default auto), KT_KERNEL_PKG (pin a linux-image package)
# stdout:  KEY=VALUE lines (KT_KERNEL, KT_INITRD, KT_ACCEL_USED, KT_KVER) for the runner;
#          all progress goes to stderr.
set -euo pipefail

log() { echo "prepare: $*" >&2; }
die() { echo "prepare: FATAL: $*" >&2; exit 1; }

: "${KT_SRC:?}" "${KT_CACHE:?}" "${KT_GPUPART:?}"
mkdir -p "$KT_CACHE/debs"

# --- host tools: missing ones are a failure, never a skip ------------------------
need=(qemu-system-x86_64 python3 apt-get apt-cache dpkg-deb jq ldd lspci sha256sum tar gzip base64 timeout flock)
missing=()
for t in "${need[@]}"; do command -v "$t" >/dev/null || missing+=("$t"); done
[ ${#missing[@]} -eq 0 ] || die "missing host tools: ${missing[*]} (install: qemu-system-x86 jq pciutils; see tests/kernel/README.md)"
[ -r /usr/share/misc/pci.ids ] || die "/usr/share/misc/pci.ids missing (install pciids)"
[ -x "$KT_GPUPART" ] || die "gpupart binary not found at $KT_GPUPART (build it: ninja -C BUILD)"

# --- packages -----------------------------------------------------------------
# deb_for PKG: print the cached .deb of PKG's candidate version, downloading it if absent.
# When apt knows nothing (no `apt-get update`), fall back to a cached .deb of PKG.
deb_for() {
	local pkg=$1 ver f
	ver=$(apt-cache policy "$pkg" 2>/dev/null | sed -n 's/^ *Candidate: *//p')
	if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
		f=$(ls -t "$KT_CACHE/debs/${pkg}_"*.deb 2>/dev/null | head -n1 || true)
		[ -n "$f" ] || die "apt has no candidate for $pkg and nothing is cached (run apt-get update)"
		log "apt has no candidate for $pkg; using cached $(basename "$f")"
		echo "$f"; return
	fi
	# apt encodes the epoch colon as %3a in file names.
	f=$KT_CACHE/debs/${pkg}_${ver//:/%3a}_amd64.deb
	if [ ! -s "$f" ]; then
		log "apt-get download $pkg=$ver"
		# apt verifies the hash against the signed index; as root it warns that _apt
		# cannot write here, which is harmless, so the sandbox user is set to root.
		(cd "$KT_CACHE/debs" && apt-get -q -o APT::Sandbox::User=root download "$pkg=$ver" >&2) ||
			die "apt-get download $pkg=$ver failed (network? apt-get update?)"
		[ -s "$f" ] || die "apt-get download did not produce $f"
	fi
	echo "$f"
}

resolve() {
if [ -n "${KT_KERNEL_PKG:-}" ]; then
	kpkg=$KT_KERNEL_PKG
else
	# linux-image-amd64 is a metapackage; the ABI-versioned image rotates with
	# security updates, so ask apt which one it is today.
	kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/.*Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
	if [ -z "$kpkg" ]; then
		kpkg=$(ls -t "$KT_CACHE/debs/" 2>/dev/null | sed -n 's/^\(linux-image-[0-9][^_]*-amd64\)_.*/\1/p' | head -n1)
		[ -n "$kpkg" ] || die "cannot resolve linux-image-amd64 (run apt-get update) and no kernel is cached"
		log "apt cannot resolve linux-image-amd64; using cached $kpkg"
	fi
fi
kdeb=$(deb_for "$kpkg")
bdeb=$(deb_for busybox-static)
}
# apt-cache takes ~0.5 s a call and every case runs this script, so the answer is kept
# for as long as apt's package lists (and the pin) are unchanged: only `apt-get update`
# can change a candidate.
akey=$( { echo "${KT_KERNEL_PKG:-}"; stat -c '%n %s %Y' /var/lib/apt/lists/* 2>/dev/null; } |
	sha256sum | cut -c1-16)
memo=$KT_CACHE/apt-resolved-$akey
if ! { [ -s "$memo" ] && read -r kdeb bdeb <"$memo" && [ -s "$kdeb" ] && [ -s "$bdeb" ]; }; then
	resolve
	echo "$kdeb $bdeb" >"$memo"
fi

# --- unpack (keyed by the .deb file name, i.e. package + version) ------------------
# Only vmlinuz and the module directories the guest loads from are unpacked: the full
# tree is ~400 MB of modules we never use.  The dependency walk below fails loudly if
# a future kernel moves a dependency outside these directories.
# The subset is part of the key: a cache unpacked for fewer modules is not reused.
subset=('./boot/vmlinuz-*' './lib/modules/*/modules.builtin'
	'./lib/modules/*/kernel/drivers/nvme/host/*' './lib/modules/*/kernel/drivers/vfio/*'
	'./lib/modules/*/kernel/drivers/net/ethernet/intel/e1000/*'
	'./lib/modules/*/kernel/drivers/net/ethernet/intel/e1000e/*'
	'./lib/modules/*/kernel/drivers/ptp/*' './lib/modules/*/kernel/drivers/pps/*'
	'./lib/modules/*/kernel/virt/lib/*' './lib/modules/*/kernel/lib/*'
	'./lib/modules/*/kernel/crypto/*' './lib/modules/*/kernel/block/*')
skey=$(printf '%s\n' "${subset[@]}" | sha256sum | cut -c1-8)
kdir=$KT_CACHE/kernel/$(basename "$kdeb" .deb)-$skey
if [ ! -e "$kdir/.complete" ]; then
	log "unpacking $(basename "$kdeb") (subset)"
	rm -rf "$kdir"; mkdir -p "$kdir"
	dpkg-deb --fsys-tarfile "$kdeb" | tar -x -C "$kdir" --wildcards "${subset[@]}" ||
		die "unpacking $kdeb failed"
	touch "$kdir/.complete"
fi
bdir=$KT_CACHE/busybox/$(basename "$bdeb" .deb)
if [ ! -e "$bdir/.complete" ]; then
	rm -rf "$bdir"; mkdir -p "$bdir"
	dpkg-deb -x "$bdeb" "$bdir" || die "unpacking $bdeb failed"
	touch "$bdir/.complete"
fi
kver=$(ls "$kdir/lib/modules" | head -n1)
vmlinuz=$kdir/boot/vmlinuz-$kver
[ -r "$vmlinuz" ] || die "no vmlinuz in $kdir"
BB=$bdir/bin/busybox

# --- initramfs, keyed by the hash of everything that goes in ------------------------
# Modules the guest loads; dependencies are resolved from each .ko's .modinfo.
MODULES="nvme vfio vfio_iommu_type1 vfio-pci e1000 e1000e"
LIBBINS=("$KT_GPUPART" "$(command -v lspci)")

libs_of() {  # shared objects (and the loader) a dynamic binary needs, one path per line
	ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
}
inputs() {  # every file that ends up in the image, for the content key
	echo "$vmlinuz" "$BB" /usr/share/misc/pci.ids "${LIBBINS[@]}"
	for b in "${LIBBINS[@]}"; do libs_of "$b"; done
	find "$KT_SRC/guest" "$KT_SRC/cases" -type f -name '*.sh' | LC_ALL=C sort
}
# Size + mtime rather than content: cheap enough to run for every case.
key=$( { echo "$MODULES"; stat -L -c '%n %s %Y' $(inputs); } | sha256sum | cut -c1-16)
# Uncompressed: QEMU loads it in a blink, while inflating it costs TCG ~0.5 s a boot.
initrd=$KT_CACHE/initramfs-$key.cpio

modinfo_depends() {  # .modinfo is NUL-separated key=value strings
	if command -v readelf >/dev/null; then
		readelf -p .modinfo "$1" | sed -n 's/.*[[:space:]]depends=//p'
	else
		tr '\0' '\n' <"$1" | sed -n 's/^depends=//p' | head -n1
	fi
}

build_initramfs() {
	local stage=$KT_CACHE/stage mroot=$kdir/lib/modules/$kver f b
	# A case file is read by busybox ash in the guest and by bash on the host, so it
	# must parse in both (no <<<, arrays or [[ in host() either); say so now, not mid-boot.
	for f in "$KT_SRC"/cases/*.sh "$KT_SRC"/guest/*.sh; do
		"$BB" sh -n "$f" >&2 || die "$f does not parse in busybox ash"
	done
	for f in "$KT_SRC"/cases/*.sh; do bash -n "$f" || die "$f does not parse in bash"; done
	rm -rf "$stage"
	mkdir -p "$stage"/{bin,dev,proc,sys,tmp,etc,run,out,kt/cases,lib/modules/"$kver"} \
		"$stage"/usr/share/misc "$stage"/lib64
	ln -s bin "$stage/sbin"; ln -s ../bin "$stage/usr/bin"; ln -s ../bin "$stage/usr/sbin"
	cp "$BB" "$stage/bin/busybox"
	for a in $("$BB" --list); do [ "$a" = busybox ] || ln -s busybox "$stage/bin/$a"; done

	# Post-order walk over depends= so each module's dependencies are inserted first
	# (the .deb ships no modules.dep: depmod runs in its postinst).
	declare -A path seen
	while IFS= read -r f; do
		b=$(basename "$f" .ko); path[$b]=$f; path[${b//-/_}]=$f
	done < <(find "$mroot/kernel" -name '*.ko')
	order=()
	visit() {
		local n=${1//-/_} d
		[ -z "${seen[$n]:-}" ] || return 0
		seen[$n]=1
		if [ -z "${path[$n]:-}" ]; then
			grep -qE "/($1|$n)\.ko" "$mroot/modules.builtin" && return 0
			die "module $1 neither unpacked nor built in (extend the unpack list in prepare.sh)"
		fi
		for d in $(modinfo_depends "${path[$n]}" | tr ',' ' '); do visit "$d"; done
		order+=("${path[$n]}")
	}
	for m in $MODULES; do visit "$m"; done
	: >"$stage/etc/modules.order"
	for f in "${order[@]}"; do
		cp "$f" "$stage/lib/modules/$kver/"
		basename "$f" >>"$stage/etc/modules.order"
	done

	# Dynamic binaries go in as they are, with the exact libraries ldd resolves on the
	# host, so the guest runs the very binary the host-side checks run.
	for b in "${LIBBINS[@]}"; do
		# rm first: cp onto a busybox applet link would overwrite busybox itself.
		rm -f "$stage/bin/${b##*/}"
		cp "$b" "$stage/bin/"
		for f in $(libs_of "$b"); do
			mkdir -p "$stage$(dirname "$f")"
			cp -L "$f" "$stage$f"
		done
	done
	cp /usr/share/misc/pci.ids "$stage/usr/share/misc/pci.ids"

	install -m 0755 "$KT_SRC/guest/init.sh" "$stage/init"
	cp "$KT_SRC/guest/"*.sh "$stage/kt/"
	cp "$KT_SRC/cases/"*.sh "$stage/kt/cases/"
	echo "$kver" >"$stage/etc/kernel-version"

	# newc archive by busybox's cpio so the host needs no cpio package.
	(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | "$BB" cpio -o -H newc 2>/dev/null) >"$initrd.tmp"
	mv "$initrd.tmp" "$initrd"
	rm -rf "$stage"
	log "initramfs $(basename "$initrd"): $(stat -c %s "$initrd") bytes, modules: ${order[*]##*/}"
}
if [ ! -s "$initrd" ]; then
	log "building initramfs (kernel $kver)"
	# Old images are keyed by content; keep the cache from growing without bound.
	rm -f "$KT_CACHE"/initramfs-*.cpio
	build_initramfs
fi

# --- boot image ---------------------------------------------------------------------
# Under TCG, decompressing the 8 MB xz bzImage costs ~4 s of every boot.  The Debian
# kernel has a PVH entry note, so QEMU can start the uncompressed vmlinux directly; we
# unpack it once (python3's lzma handles the x86 BCJ filter; busybox unxz does not).
# The probe below decides whether it really boots; if not, the bzImage is used.
vmlinux=$kdir/vmlinux
if [ ! -e "$vmlinux.tried" ]; then
	touch "$vmlinux.tried"
	python3 - "$vmlinuz" "$vmlinux" <<'PY' >&2 || log "no vmlinux extracted; booting the bzImage"
import lzma, sys
data = open(sys.argv[1], "rb").read()
off = data.find(b"\xfd7zXZ\x00")
if off < 0:
    sys.exit("bzImage payload is not xz")
elf = lzma.LZMADecompressor().decompress(data[off:])
if elf[:4] != b"\x7fELF":
    sys.exit("xz payload is not an ELF vmlinux")
open(sys.argv[2], "wb").write(elf)
PY
fi

# --- accelerator and image: bounded probes, verdicts cached -------------------------
# KVM is used only when a probe boots this kernel to userspace within 15 s.  On kvm_pvm
# hosts /dev/kvm opens but a stock kernel hangs before printing anything (and -cpu host
# aborts), so trusting /dev/kvm alone would hang the suite.
probe() {  # probe ACCEL KERNEL: true iff the guest reaches userspace in time
	local plog=$KT_CACHE/probe-$1.log args
	if [ "$1" = kvm ]; then args=(-accel kvm -cpu host); else args=(-accel tcg -cpu max); fi
	rm -f "$plog"
	# An inner bash that cannot exec away (the "; true") reports qemu's SIGABRT (-cpu host
	# on PVM) to /dev/null instead of this log.
	bash -c 'timeout -k 2 15 "$@"; true' _ qemu-system-x86_64 "${args[@]}" -machine q35 -m 256 \
		-nodefaults -display none -no-reboot -serial "file:$plog" \
		-kernel "$2" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet kt.case=probe" >/dev/null 2>&1
	grep -q 'KT-PROBE-OK' "$plog" 2>/dev/null
}
req=${KT_ACCEL:-auto}
pkey=$(echo "$req $(uname -r) $(qemu-system-x86_64 --version | head -n1) $(basename "$kdeb")" |
	sha256sum | cut -c1-16)
pfile=$KT_CACHE/boot-probe-$pkey
if [ ! -s "$pfile" ]; then
	verdict=
	if [ "$req" != tcg ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
		k=$vmlinuz; [ -s "$vmlinux" ] && k=$vmlinux
		log "probing KVM (at most 15 s)"
		probe kvm "$k" && verdict="kvm $k"
	fi
	[ -n "$verdict" ] || [ "$req" != kvm ] || die "KT_ACCEL=kvm but KVM does not boot this kernel"
	if [ -z "$verdict" ] && [ -s "$vmlinux" ]; then
		log "probing the PVH vmlinux under TCG"
		probe tcg "$vmlinux" && verdict="tcg $vmlinux"
	fi
	[ -n "$verdict" ] || verdict="tcg $vmlinuz"
	echo "$verdict" >"$pfile"
	log "boot verdict: $verdict"
fi
read -r accel kernel <"$pfile"

echo "KT_KERNEL=$kernel"
echo "KT_INITRD=$initrd"
echo "KT_KVER=$kver"
echo "KT_ACCEL_USED=$accel"

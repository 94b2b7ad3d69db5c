#!/bin/sh
# The README's first command on a machine with only the build packages (scripts/deps.sh without
# `test`): configures and builds a scratch copy with Criterion hidden from pkg-config, and
# checks that gpupart is built and runs. Then checks that -Dtests=enabled refuses, loudly, to
# configure without Criterion (CI must never run zero tests in silence).
#
#   scripts/check-fresh-build.sh [BUILDDIR]    (default: build; the scratch dir is BUILDDIR/fresh)
#
# pkg-config is pointed (PKG_CONFIG_LIBDIR) at a directory of links to every .pc file of the
# system's search path but criterion.pc: what pkg-config sees on a host without
# libcriterion-dev. The scratch dir is removed at the end, whatever happens.
set -eu
cd "$(dirname "$0")/.."
main=${1:-build}
scratch=$main/fresh
mkdir -p "$main"
rm -rf "$scratch"
trap 'rm -rf "$scratch"' EXIT
trap 'exit 1' INT TERM
mkdir -p "$scratch/pc"
fail() {
	echo "check-fresh-build: FAIL: $*" >&2
	exit 1
}

# a fresh clone runs the scripts as they are in git: each one must be executable there
if git rev-parse --git-dir >/dev/null 2>&1; then
	for f in $(git ls-files scripts .ci); do
		case $f in *.sh | .ci/run) ;; *) continue ;; esac
		case $(git ls-files -s "$f") in 100755*) ;; *) fail "$f is not executable in git" ;; esac
	done
fi

# every directory pkg-config would search (PKG_CONFIG_PATH first, as pkg-config does)
dirs=$(printf '%s:%s' "${PKG_CONFIG_PATH:-}" "$(pkg-config --variable pc_path pkg-config)")
IFS=:
for d in $dirs; do
	[ -d "$d" ] || continue
	for pc in "$d"/*.pc; do
		[ -e "$pc" ] || continue
		name=${pc##*/}
		case $name in criterion.pc) continue ;; esac
		# the first directory that has a name wins, as in pkg-config's own search
		[ -e "$scratch/pc/$name" ] || ln -s "$pc" "$scratch/pc/$name"
	done
done
unset IFS
case $scratch in
/*) PKG_CONFIG_LIBDIR=$scratch/pc ;;
*) PKG_CONFIG_LIBDIR=$(pwd)/$scratch/pc ;;
esac
export PKG_CONFIG_LIBDIR
unset PKG_CONFIG_PATH
if pkg-config --exists criterion; then
	fail "criterion is still visible to pkg-config"
fi
pkg-config --exists libpci || fail "the filtered pkg-config dir lost libpci"

# 1. the default (tests=auto): configures, builds, gpupart runs
if ! meson setup "$scratch/b" >"$scratch/setup.log" 2>&1; then
	cat "$scratch/setup.log" >&2
	fail "meson setup without Criterion failed"
fi
if ! ninja -C "$scratch/b" >"$scratch/ninja.log" 2>&1; then
	tail -40 "$scratch/ninja.log" >&2
	fail "ninja without Criterion failed"
fi
[ -x "$scratch/b/src/cli/gpupart" ] || fail "no $scratch/b/src/cli/gpupart"
v=$("$scratch/b/src/cli/gpupart" --version) || fail "gpupart --version failed"
case $v in *[0-9].[0-9]*) ;; *) fail "gpupart --version printed '$v'" ;; esac
# the fixture tools need nothing but the build packages: the first command gives them too
for t in tests/fixture/gp-fixture tests/fakekernel/gpupart-fake; do
	[ -x "$scratch/b/$t" ] || fail "no $scratch/b/$t"
done
"$scratch/b/tests/fixture/gp-fixture" --list >/dev/null || fail "gp-fixture --list failed"
# and no test was defined (there is nothing to run them with)
n=$(meson introspect --tests "$scratch/b" | grep -o '"name":' | wc -l)
[ "$n" = 0 ] || fail "$n tests defined without Criterion"

# 2. tests=enabled without Criterion: configure fails, naming Criterion
if meson setup "$scratch/e" -Dtests=enabled >"$scratch/enabled.log" 2>&1; then
	fail "meson setup -Dtests=enabled succeeded without Criterion"
fi
grep -qi criterion "$scratch/enabled.log" || {
	cat "$scratch/enabled.log" >&2
	fail "the -Dtests=enabled failure does not name Criterion"
}
echo "check-fresh-build: ok (built without Criterion: $v; -Dtests=enabled refused)"

#!/bin/bash
# SPDX-License-Identifier: MIT
# CI stages "arm64" and "armhf": cross-build the package for ARCH
# (dpkg-buildpackage -a ARCH, tests off), then build the unit tests in the same
# cross-configured tree and run every one of them under qemu-user. Unit tests
# need no broker and no hardware; the integration tests are left to the native
# stages.
#   tools/ci/cross.sh ARCH           ARCH: arm64 or armhf
# The build tools of each architecture are its line in tools/ci/ci-depends.
# shellcheck source=tools/ci/lib.inc
source "$(dirname "${BASH_SOURCE[0]}")/lib.inc"

arch=${1:-}
# What tells a binary of ARCH apart ("file" output), and the emulator that runs it.
case $arch in
arm64)
	qemu="qemu-aarch64"
	elf_pattern='ARM aarch64'
	;;
armhf)
	# Debian's armhf: ARMv7, hard-float ABI (its loader is ld-linux-armhf.so.3).
	qemu="qemu-arm"
	elf_pattern='ARM, EABI5.*/lib/ld-linux-armhf\.so\.3'
	;;
*)
	echo "usage: tools/ci/cross.sh arm64|armhf" >&2
	exit 2
	;;
esac
ci_begin "$arch"

version=$(ci_version)
sysroot=/

if ! dpkg --print-foreign-architectures | grep -qx "$arch"; then
	ci_log "dpkg --add-architecture $arch"
	dpkg --add-architecture "$arch"
	apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
fi
# The ARCH side of Build-Depends: the libraries to link against (and check, for
# the unit tests); compilers and tools come from the build architecture.
mapfile -t target_libs < <(ci_build_depends | grep -E '^(lib.*-dev|check)$' | sed "s/\$/:$arch/")
mapfile -t tools < <(ci_stage_depends "$arch")
[ ${#tools[@]} -gt 0 ] || { ci_log "no '$arch:' line in tools/ci/ci-depends"; exit 1; }
ci_apt_install "${tools[@]}" "${target_libs[@]}"

work=$(mktemp -d "/tmp/iotgwd-$arch.XXXXXX")
ci_on_exit "rm -rf --one-file-system '$work'"
src=$work/iotgwd-$version
ci_copy_tree "$src"

ci_log "dpkg-buildpackage -a $arch (nocheck)"
(cd "$src" && DEB_BUILD_OPTIONS=nocheck DEB_BUILD_PROFILES="nocheck cross" \
	dpkg-buildpackage -a "$arch" -us -uc -b >"$work/build.log" 2>&1) ||
	{ tail -n 80 "$work/build.log"; exit 1; }
deb=$work/iotgwd_${version}_$arch.deb
if [ ! -f "$deb" ] || [ "$(dpkg-deb -f "$deb" Architecture)" != "$arch" ]; then
	ci_log "no $arch package"
	exit 1
fi
file -L "$src/debian/iotgwd/usr/sbin/iotgwd" 2>/dev/null | grep -qE "$elf_pattern" ||
	{ ci_log "usr/sbin/iotgwd is not an $arch binary: $(file -L "$src/debian/iotgwd/usr/sbin/iotgwd")"; exit 1; }
ci_log "built $(basename "$deb")"

# dh configured the tree for ARCH; "make check TESTS=" builds the test programs
# without running them (they cannot run natively).
ci_log "building the unit tests for $arch"
make -C "$src" -j2 -s check TESTS= >"$work/tests-build.log" 2>&1 ||
	{ tail -n 60 "$work/tests-build.log"; exit 1; }
# The native stages build with -Werror, and what a warning here points at is what
# only this architecture shows (a format for a 64-bit type on a 32-bit one).
# -Wunused-result is left out: it comes from the package's _FORTIFY_SOURCE on any
# architecture, amd64 included, where "(void) write()" does not silence it.
if grep -hE '^[^ :]+\.[ch]:[0-9]+:[0-9]+: warning:' "$work/build.log" "$work/tests-build.log" |
	grep -v '\[-Wunused-result\]$'; then
	ci_log "compiler warnings in the $arch build"
	exit 1
fi

mapfile -t tests < <(cd "$src" && for f in tests/unit/test-*; do
	[ -f "$f" ] && [ -x "$f" ] && head -c 4 "$f" | grep -q ELF && echo "$f"
done)
if [ ${#tests[@]} -eq 0 ]; then
	if compgen -G "$src/tests/unit/test-*.c" >/dev/null; then
		ci_log "unit test sources exist but no $arch test program was built"
		exit 1
	fi
	ci_log "no unit tests in this tree"
	exit 0
fi

# binfmt_misc is not available: run each program through qemu-user. The loader
# must come from the same glibc as the libc.so.6 it loads. The -dev:ARCH
# packages pull in libc6:ARCH, whose loader is in /lib (ld-linux-aarch64.so.1,
# ld-linux-armhf.so.3) and whose libraries (and the -dev packages') are in the
# multiarch directories the loader searches: so the "sysroot" is / itself.
# -L /usr/<triplet> (the cross toolchain's libc6-ARCH-cross) would pair that
# older loader with libc6:ARCH's libc.so.6, and forked Check tests hang.
# Emulation is slow: give Check's per-test timeout room.
failed=0 passed=0 skipped=0
for t in "${tests[@]}"; do
	rc=0
	(cd "$src" && CK_TIMEOUT_MULTIPLIER=10 srcdir=. \
		timeout 600 "$qemu" -L "$sysroot" "./$t" >"$work/$(basename "$t").log" 2>&1) || rc=$?
	case $rc in
	0) echo "PASS: $t"; passed=$((passed + 1)) ;;
	77) echo "SKIP: $t"; skipped=$((skipped + 1)) ;;
	*) echo "FAIL: $t (exit $rc)"; tail -n 30 "$work/$(basename "$t").log"; failed=$((failed + 1)) ;;
	esac
done
ci_log "$arch unit tests: $passed passed, $skipped skipped, $failed failed"
[ $failed -eq 0 ]

#!/bin/bash
# SPDX-License-Identifier: MIT
# CI stage "arm64": cross-build the arm64 package (dpkg-buildpackage -a arm64,
# tests off), then build the unit tests in the same cross-configured tree and run
# every one of them under qemu-aarch64. Unit tests need no broker and no
# hardware; the integration tests are left to the native stages.
# shellcheck source=tools/ci/lib.inc
source "$(dirname "${BASH_SOURCE[0]}")/lib.inc"
ci_begin arm64

version=$(ci_version)
sysroot=/

if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	ci_log "dpkg --add-architecture arm64"
	dpkg --add-architecture arm64
	apt-get -o DPkg::Lock::Timeout=600 update -q >/dev/null
fi
# The arm64 side of Build-Depends: the libraries to link against (and check, for
# the unit tests); compilers and tools come from the build architecture.
mapfile -t target_libs < <(ci_build_depends | grep -E '^(lib.*-dev|check)$' | sed 's/$/:arm64/')
mapfile -t tools < <(ci_stage_depends arm64)
ci_apt_install "${tools[@]}" "${target_libs[@]}"

work=$(mktemp -d /tmp/iotgwd-arm64.XXXXXX)
ci_on_exit "rm -rf --one-file-system '$work'"
src=$work/iotgwd-$version
ci_copy_tree "$src"

ci_log "dpkg-buildpackage -a arm64 (nocheck)"
(cd "$src" && DEB_BUILD_OPTIONS=nocheck DEB_BUILD_PROFILES="nocheck cross" \
	dpkg-buildpackage -a arm64 -us -uc -b >"$work/build.log" 2>&1) ||
	{ tail -n 80 "$work/build.log"; exit 1; }
deb=$work/iotgwd_${version}_arm64.deb
[ "$(dpkg-deb -f "$deb" Architecture)" = arm64 ] || { ci_log "no arm64 package"; exit 1; }
file "$src/debian/iotgwd/usr/sbin/iotgwd" 2>/dev/null | grep -q 'ARM aarch64' ||
	{ ci_log "usr/sbin/iotgwd is not an aarch64 binary"; exit 1; }
ci_log "built $(basename "$deb")"

# dh configured the tree for aarch64; "make check TESTS=" builds the test
# programs without running them (they cannot run natively).
ci_log "building the unit tests for arm64"
make -C "$src" -j2 -s check TESTS= >"$work/tests-build.log" 2>&1 ||
	{ tail -n 60 "$work/tests-build.log"; exit 1; }

mapfile -t tests < <(cd "$src" && for f in tests/unit/test-*; do
	[ -f "$f" ] && [ -x "$f" ] && head -c 4 "$f" | grep -q ELF && echo "$f"
done)
if [ ${#tests[@]} -eq 0 ]; then
	if compgen -G "$src/tests/unit/test-*.c" >/dev/null; then
		ci_log "unit test sources exist but no arm64 test program was built"
		exit 1
	fi
	ci_log "no unit tests in this tree"
	exit 0
fi

# binfmt_misc is not available: run each program through qemu-aarch64. The loader
# must come from the same glibc as the libc.so.6 it loads. The -dev:arm64
# packages pull in libc6:arm64, whose loader is /lib/ld-linux-aarch64.so.1 and
# whose libraries (and the -dev packages') are in the multiarch directories
# found through the host's ld.so.cache: so the "sysroot" is / itself.
# -L /usr/aarch64-linux-gnu (the cross toolchain's libc6-arm64-cross) would pair
# that older loader with libc6:arm64's libc.so.6, and forked Check tests hang.
# Emulation is slow: give Check's per-test timeout room.
failed=0 passed=0 skipped=0
for t in "${tests[@]}"; do
	rc=0
	(cd "$src" && CK_TIMEOUT_MULTIPLIER=10 srcdir=. \
		timeout 600 qemu-aarch64 -L "$sysroot" "./$t" >"$work/$(basename "$t").log" 2>&1) || rc=$?
	case $rc in
	0) echo "PASS: $t"; passed=$((passed + 1)) ;;
	77) echo "SKIP: $t"; skipped=$((skipped + 1)) ;;
	*) echo "FAIL: $t (exit $rc)"; tail -n 30 "$work/$(basename "$t").log"; failed=$((failed + 1)) ;;
	esac
done
ci_log "arm64 unit tests: $passed passed, $skipped skipped, $failed failed"
[ $failed -eq 0 ]

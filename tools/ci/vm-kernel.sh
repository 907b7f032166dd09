#!/bin/bash
# SPDX-License-Identifier: MIT
# shellcheck disable=SC2317 # the run_* functions are called as "run_$u"
# CI stage "vm": the real iotgwd with hal = gpiod on a real kernel, in QEMU,
# against the kernel's gpio-sim and i2c-stub (tests/vm/). It runs twice:
#   bookworm  this machine's programs and libgpiod 1.6, the build in
#             _build/check (IOTGWD_VM_BUILD overrides it);
#   trixie    Debian 13's programs and libgpiod 2.x, from the root that the
#             "trixie" stage uses (/var/cache/iotgwd-trixie), where iotgwd is
#             built from a copy of the tree.
# IOTGWD_VM_USERLANDS picks them (default "bookworm trixie"). The kernel is
# built once and cached (tests/vm/kernel.sh). Exits 77 when this machine cannot
# run QEMU's x86_64 emulation at all.
# shellcheck source=tools/ci/lib.inc
source "$(dirname "${BASH_SOURCE[0]}")/lib.inc"

if [ "$(uname -m)" != x86_64 ]; then
	echo "==> ci vm: skipped: the VM tests need an x86_64 machine (this is $(uname -m))"
	exit 77
fi

ci_begin vm

mapfile -t tools < <(ci_stage_depends vm)
ci_apt_install "${tools[@]}"
if ! qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg; then
	echo "==> ci vm: skipped: qemu-system-x86_64 has no TCG accelerator"
	trap - EXIT
	exit 77
fi

userlands=${IOTGWD_VM_USERLANDS:-bookworm trixie}
results=()
failed=0

run_bookworm() {
	local build=${IOTGWD_VM_BUILD:-$ci_top/_build/check}
	if [ ! -x "$build/iotgwd" ]; then
		ci_log "building iotgwd in $build"
		# shellcheck source=tools/lib.sh
		(source "$ci_top/tools/lib.sh" && build_tree "$build" --enable-werror)
	fi
	"$ci_top/tests/vm/run.sh" --name bookworm --iotgwd "$build/iotgwd"
}

# The trixie root of tools/ci/trixie.sh (same place, same lock), with the VM's
# programs (libgpiod's tools, i2c-tools) added when missing.
trixie_cache=/var/cache/iotgwd-trixie

run_trixie() {
	local work
	# One user of the cached root at a time, as in the trixie stage; held until
	# the VM's programs have been copied out of it.
	exec 9>"$trixie_cache.lock"
	flock 9
	ci_trixie_root "$trixie_cache" gpiod i2c-tools
	work=$(mktemp -d /tmp/iotgwd-vm-trixie.XXXXXX)
	ci_on_exit "rm -rf --one-file-system '$work'"
	ci_copy_tree "$work/src"
	mkdir -p "$trixie_cache/build/iotgwd-vm"
	ci_log "building iotgwd inside trixie"
	unshare --mount --propagation private bash -euo pipefail -c '
		root=$1 src=$2
		cleanup() {
			for m in build/iotgwd-vm tmp dev/pts dev proc; do
				mountpoint -q "$root/$m" && umount -l "$root/$m"
			done
			return 0
		}
		trap cleanup EXIT
		mount -t proc proc "$root/proc"
		mount --bind /dev "$root/dev"
		mount --bind /dev/pts "$root/dev/pts"
		mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
		mount --bind "$src" "$root/build/iotgwd-vm"
		chroot "$root" /bin/sh -ec "
			cd /build/iotgwd-vm
			autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
			./configure -q --enable-werror
			make -j2 -s iotgwd
		"
	' bash "$trixie_cache" "$work/src" >"$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; return 1; }
	"$ci_top/tests/vm/run.sh" --name trixie --root "$trixie_cache" --iotgwd "$work/src/iotgwd"
	local r=$?
	flock -u 9
	return "$r"
}

for u in $userlands; do
	case $u in
	bookworm|trixie) ;;
	*) echo "vm: unknown userland $u"; exit 2 ;;
	esac
	ci_log "userland $u"
	if "run_$u"; then
		results+=("$u: ok")
	else
		results+=("$u: FAILED")
		failed=1
	fi
done
ci_log "${results[*]}"
exit $failed

#!/bin/bash
# SPDX-License-Identifier: MIT
# CI stage "trixie": build and run "make check" (unit and integration tests) on
# Debian 13, which has libgpiod 2.x, in a chroot.
#
# The root is made once with mmdebstrap and cached in /var/cache/iotgwd-trixie
# (others may have made it already); the packages it must hold are the
# Build-Depends of debian/control, added to an existing root when missing. The
# tree is copied to a temporary directory and bind-mounted into the root, so the
# cached root stays as it was.
# shellcheck source=tools/ci/lib.inc
source "$(dirname "${BASH_SOURCE[0]}")/lib.inc"
ci_begin trixie

cache=/var/cache/iotgwd-trixie
mapfile -t tools < <(ci_stage_depends trixie)
ci_apt_install "${tools[@]}"

# One user of the cached root at a time (creating it, adding packages, building).
exec 9>"$cache.lock"
flock 9

ci_trixie_root "$cache"

work=$(mktemp -d /tmp/iotgwd-trixie.XXXXXX)
# --one-file-system: should a mount have survived, never delete through it.
ci_on_exit "rm -rf --one-file-system '$work'"
ci_copy_tree "$work/src"
mkdir -p "$cache/build/iotgwd"

# A private mount namespace: /proc, /dev, /dev/pts, a fresh /tmp and the source
# are mounted only for this build and vanish with it, whatever happens; the trap
# unmounts them in order as well.
ci_log "autoreconf, configure --enable-werror, make, make check (inside trixie)"
unshare --mount --propagation private bash -euo pipefail -c '
	root=$1 src=$2
	cleanup() {
		for m in build/iotgwd tmp dev/pts dev proc; do
			mountpoint -q "$root/$m" && umount -l "$root/$m"
		done
		return 0
	}
	trap cleanup EXIT
	mount -t proc proc "$root/proc"
	mount --bind /dev "$root/dev"
	mount --bind /dev/pts "$root/dev/pts"
	mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
	mount --bind "$src" "$root/build/iotgwd"
	chroot "$root" /bin/sh -ec "
		cd /build/iotgwd
		autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
		./configure -q --enable-werror
		make -j2 -s
		if ! make -j2 check; then
			cat test-suite.log 2>/dev/null || true
			exit 1
		fi
		echo \"libgpiod \$(pkg-config --modversion libgpiod)\"
	"
' bash "$cache" "$work/src"

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
mapfile -t deps < <(ci_build_depends)

# One user of the cached root at a time (creating it, adding packages, building).
exec 9>"$cache.lock"
flock 9

if [ ! -x "$cache/usr/bin/apt-get" ]; then
	ci_log "creating $cache with mmdebstrap"
	rm -rf --one-file-system "$cache.new"
	mapfile -t sources < <(ci_debian_sources trixie)
	mmdebstrap --quiet --variant=buildd --include="$(IFS=,; echo "${deps[*]}")" \
		trixie "$cache.new" "${sources[@]}"
	mv "$cache.new" "$cache"
fi

missing=()
for p in "${deps[@]}"; do
	if [ "$(chroot "$cache" dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	ci_log "adding ${missing[*]} to $cache"
	cp /etc/resolv.conf "$cache/etc/resolv.conf" 2>/dev/null || true
	# Nothing may start services in a chroot (mosquitto's postinst would try).
	printf '#!/bin/sh\nexit 101\n' >"$cache/usr/sbin/policy-rc.d"
	chmod 0755 "$cache/usr/sbin/policy-rc.d"
	chroot "$cache" env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	chroot "$cache" env DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
	rm -f "$cache/usr/sbin/policy-rc.d"
fi

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

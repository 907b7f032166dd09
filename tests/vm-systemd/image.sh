#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/vm-systemd/image.sh: the Debian 12 disk image that tests/vm-systemd/run.sh
# boots: systemd as PID 1, udev, mosquitto, Debian's linux-image-amd64, and the
# run-time dependencies of the iotgwd package (from the .deb's Depends), so that
# "dpkg -i" inside needs nothing from the network. The image has the test unit
# (iotgwd-vmtest.service) enabled and serial-getty@ttyS0 masked.
#
#   tests/vm-systemd/image.sh DEB
#
# Prints the cache directory holding root.img (ext4, made with mkfs.ext4 -d: no
# loop mount), vmlinuz and initrd.img (the image's own kernel and initramfs).
# Cached in /var/cache/iotgwd-vm-systemd/KEY, KEY a hash of this script, the test
# unit, the suite and the package list; IOTGWD_VM_SYSTEMD_CACHE overrides the
# directory. Older keys are removed when a new image is made.
# The customize hooks are single-quoted on purpose: mmdebstrap passes the root as $1.
# shellcheck disable=SC2016,SC2012
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tools/ci/lib.inc
source "$here/../../tools/ci/lib.inc"
deb=${1:?usage: image.sh DEB}
cache=${IOTGWD_VM_SYSTEMD_CACHE:-/var/cache/iotgwd-vm-systemd}
suite=bookworm

# The package's Depends, first of each alternative, without versions.
mapfile -t deps < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' |
	sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' -e '/^$/d' | sort -u)
# What the scenarios use besides: jq reads journalctl -o json, mosquitto-clients
# talks to the broker, procps and psmisc find processes, e2fsprogs and util-linux
# are there anyway (mount of the data disk).
pkgs=(systemd systemd-sysv udev dbus linux-image-amd64 mosquitto mosquitto-clients
	jq procps kmod "${deps[@]}")
mapfile -t pkgs < <(printf '%s\n' "${pkgs[@]}" | sort -u)

key=$( {
	echo "$suite"
	printf '%s\n' "${pkgs[@]}"
	cat "${BASH_SOURCE[0]}" "$here/iotgwd-vmtest.service"
} | sha256sum | cut -c1-16)
dir=$cache/$key

mkdir -p "$cache"
exec 8>"$cache/lock"
flock 8
if [ -f "$dir/root.img" ] && [ -f "$dir/vmlinuz" ] && [ -f "$dir/initrd.img" ]; then
	echo "$dir"
	exit 0
fi

echo "image.sh: making the $suite image $key (${pkgs[*]})" >&2
work=$(mktemp -d "$cache/new.XXXXXX")
trap 'rm -rf --one-file-system "$work"' EXIT
root=$work/root
started=$SECONDS

unit=$here/iotgwd-vmtest.service
mapfile -t sources < <(ci_debian_sources "$suite")
mmdebstrap --quiet --variant=minbase --mode=root \
	--aptopt='APT::Install-Recommends "false"' \
	--dpkgopt='path-exclude=/usr/share/doc/*' \
	--dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/man/*' \
	--dpkgopt='path-exclude=/usr/share/locale/*' \
	--include="$(IFS=,; echo "${pkgs[*]}")" \
	--customize-hook='echo iotgwd-vm >"$1/etc/hostname"' \
	--customize-hook='printf "127.0.0.1 localhost iotgwd-vm\n::1 localhost\n" >"$1/etc/hosts"' \
	--customize-hook='printf "/dev/vda / ext4 rw,errors=remount-ro 0 1\n" >"$1/etc/fstab"' \
	--customize-hook='ln -sf /dev/null "$1/etc/systemd/system/serial-getty@ttyS0.service"' \
	--customize-hook='ln -sf /dev/null "$1/etc/systemd/system/getty@tty1.service"' \
	--customize-hook="cp '$unit' \"\$1/etc/systemd/system/iotgwd-vmtest.service\"" \
	--customize-hook='mkdir -p "$1/etc/systemd/system/multi-user.target.wants" "$1/vmdata"' \
	--customize-hook='ln -sf ../iotgwd-vmtest.service "$1/etc/systemd/system/multi-user.target.wants/iotgwd-vmtest.service"' \
	--customize-hook='rm -f "$1/etc/machine-id" && : >"$1/etc/machine-id"' \
	--customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*_Packages' \
	"$suite" "$root" "${sources[@]}" >&2

# The image's own kernel and initramfs, booted directly by QEMU.
cp "$(ls "$root"/boot/vmlinuz-* | sort -V | tail -n 1)" "$work/vmlinuz"
cp "$(ls "$root"/boot/initrd.img-* | sort -V | tail -n 1)" "$work/initrd.img"

# Room for the package, the journal and the scenarios' files.
size=$(( $(du -sm "$root" | cut -f1) + 400 ))
mkfs.ext4 -q -F -L iotgwd-vm -d "$root" "$work/root.img" "${size}M" >&2
rm -rf --one-file-system "$root"

# Keep only the newest image.
for old in "$cache"/*/; do
	[ "${old%/}" = "$dir" ] || [ "${old%/}" = "$work" ] || rm -rf --one-file-system "${old%/}"
done
mv "$work" "$dir"
trap - EXIT
echo "image.sh: image $key made in $((SECONDS - started))s ($(du -sh "$dir/root.img" | cut -f1))" >&2
echo "$dir"

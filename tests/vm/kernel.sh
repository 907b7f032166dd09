#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/vm/kernel.sh: build (once) the small kernel the VM tests boot, from
# Debian's linux-source-6.1: tinyconfig plus tests/vm/kernel.config.
#
# The result is cached outside the source tree, in
#   ${IOTGWD_VM_CACHE:-/var/cache/iotgwd-vm}/kernel-<key>/{bzImage,i2c-stub.ko}
# where <key> hashes the config fragment, the source package's version and
# "recipe" below (bump it when the build steps change), so a change to any of
# them builds a new kernel and an unchanged one costs nothing. Prints the
# directory on stdout; logs go to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${IOTGWD_VM_CACHE:-/var/cache/iotgwd-vm}
src_tar=/usr/src/linux-source-6.1.tar.xz
jobs=${IOTGWD_VM_JOBS:-2}
recipe=1

log() { echo "vm kernel: $*" >&2; }

[ -f "$src_tar" ] || { log "missing $src_tar (package linux-source-6.1)"; exit 1; }
version=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$( { echo "$version $recipe"; cat "$here/kernel.config"; } | sha256sum | cut -c1-16)
out=$cache/kernel-$key

if [ -f "$out/bzImage" ] && [ -f "$out/i2c-stub.ko" ]; then
	echo "$out"
	exit 0
fi

mkdir -p "$cache"
# One builder per key; a second caller waits and then finds the result.
exec 8>"$out.lock"
flock 8
if [ -f "$out/bzImage" ] && [ -f "$out/i2c-stub.ko" ]; then
	echo "$out"
	exit 0
fi

build=$cache/build-$key
rm -rf --one-file-system "$build" "$out.new"
mkdir -p "$build"
# The unpacked source is large: never leave it behind, built or not.
trap 'rm -rf --one-file-system "$build" "$out.new"' EXIT
log "unpacking linux-source-6.1 $version"
tar -C "$build" -xJf "$src_tar"
ksrc=$build/linux-source-6.1
[ -d "$ksrc" ] || { log "unexpected layout of $src_tar"; exit 1; }

log "configuring (tinyconfig + tests/vm/kernel.config)"
# merge_config.sh reports every option a fragment redefines: keep that in a log.
{
	make -C "$ksrc" -s tinyconfig &&
		"$ksrc/scripts/kconfig/merge_config.sh" -m -O "$ksrc" "$ksrc/.config" "$here/kernel.config" &&
		make -C "$ksrc" -s olddefconfig
} >"$build/config.log" 2>&1 || { tail -n 40 "$build/config.log" >&2; exit 1; }
# Every option asked for must have survived olddefconfig's dependency checks.
bad=0
while IFS= read -r line; do
	case $line in CONFIG_*=*) ;; *) continue ;; esac
	grep -qx "$line" "$ksrc/.config" || { log "option not set: $line"; bad=1; }
done <"$here/kernel.config"
[ $bad -eq 0 ] || exit 1

log "building bzImage and modules with -j$jobs (a few minutes)"
started=$SECONDS
make -C "$ksrc" -s -j"$jobs" bzImage modules >"$build/make.log" 2>&1 ||
	{ tail -n 40 "$build/make.log" >&2; exit 1; }
log "built in $((SECONDS - started))s"

mkdir -p "$out.new"
cp "$ksrc/arch/x86/boot/bzImage" "$out.new/"
cp "$(find "$ksrc/drivers/i2c" -name i2c-stub.ko | head -1)" "$out.new/"
cp "$ksrc/.config" "$out.new/config"
rm -rf --one-file-system "$out"
mv "$out.new" "$out"
echo "$out"

#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/vm/run.sh: boot the test kernel (tests/vm/kernel.sh) in QEMU with an
# initramfs holding iotgwd, mosquitto, mosquitto_pub/sub, libgpiod's tools,
# i2c-tools and busybox, run the scenarios of tests/vm/scenarios.sh there and
# report them.
#
#   tests/vm/run.sh --iotgwd BINARY [--root DIR] [--name NAME]
#
# --root is the Debian root whose programs and shared libraries go into the
# VM (default /, the machine's own); BINARY is an iotgwd built against it.
# Prints the scenarios' "ok"/"FAIL" lines and "vm NAME: N passed, M failed";
# exits 0 when every scenario passed, 1 otherwise, with the tail of the VM's
# console on a failure. IOTGWD_VM_TIMEOUT (seconds, default 600) bounds the VM;
# IOTGWD_VM_ONLY=NAME,NAME runs only those scenarios, IOTGWD_VM_TRACE=1 traces
# them, IOTGWD_VM_KNOWN_DEFECTS=1 adds the scenarios of known defects (see
# scenarios.sh; they fail today).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=/
name=bookworm
iotgwd=
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=$2; shift 2 ;;
	--iotgwd) iotgwd=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
if [ -z "$iotgwd" ] || [ ! -x "$iotgwd" ]; then
	echo "run.sh: no iotgwd binary (--iotgwd)" >&2
	exit 2
fi
root=${root%/}

kernel=$("$here/kernel.sh")

work=$(mktemp -d /tmp/iotgwd-vm.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
img=$work/initramfs

# in_root PATH: PATH inside $root with every symlink resolved inside $root too
# (an absolute link in the trixie root points into that root, not the host).
in_root() {
	local p=$1 t i
	for ((i = 0; i < 40; i++)); do
		if [ -L "$root$p" ]; then
			t=$(readlink "$root$p")
			case $t in
			/*) p=$t ;;
			*) p=$(dirname "$p")/$t ;;
			esac
		else
			# Resolve the directories on the way (e.g. /lib -> usr/lib).
			local d
			d=$(dirname "$p")
			if [ "$d" != / ] && [ "$(in_root_dir "$d")" != "$d" ]; then
				p=$(in_root_dir "$d")/$(basename "$p")
				continue
			fi
			echo "$p"
			return 0
		fi
	done
	echo "run.sh: symlink loop at $1 in $root" >&2
	return 1
}

in_root_dir() {
	local d=$1 out="" part t
	local IFS=/
	for part in ${d#/}; do
		[ -n "$part" ] || continue
		if [ -L "$root$out/$part" ]; then
			t=$(readlink "$root$out/$part")
			case $t in
			/*) out=${t%/} ;;
			*) out=$out/${t%/} ;;
			esac
		else
			out=$out/$part
		fi
	done
	echo "${out:-/}"
}

declare -A copied=()
lib_dirs=(/lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /usr/lib /lib)

# add FILE_IN_ROOT [DEST]: copy a program of the root and, recursively, the
# shared libraries it needs and its program interpreter, to the same paths in
# the image.
add() {
	local src=$1 dest=${2:-$1} real
	[ -z "${copied[$dest]:-}" ] || return 0
	copied[$dest]=1
	real=$(in_root "$src")
	[ -f "$root$real" ] || { echo "run.sh: $src missing in $root" >&2; return 1; }
	add_elf "$root$real" "$dest"
}

# add_elf FILE DEST: copy FILE (a path on this machine) to DEST in the image,
# then what it needs from the root: DT_NEEDED libraries, looked up in the
# root's library directories, and the program interpreter.
add_elf() {
	local file=$1 dest=$2 need interp d found
	mkdir -p "$img$(dirname "$dest")"
	cp "$file" "$img$dest"
	interp=$(readelf -l "$file" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)]/\1/p')
	[ -z "$interp" ] || add "$interp"
	for need in $(readelf -d "$file" 2>/dev/null | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
		found=
		for d in "${lib_dirs[@]}"; do
			if [ -e "$root$d/$need" ]; then
				found=$d/$need
				break
			fi
		done
		[ -n "$found" ] || { echo "run.sh: $need (for $dest) not found in ${root:-/}" >&2; return 1; }
		add "$found"
	done
}

mkdir -p "$img"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,run,root,lib/modules,vm}
for p in /usr/sbin/mosquitto /usr/bin/mosquitto_pub /usr/bin/mosquitto_sub \
	/usr/bin/gpioset /usr/bin/gpioget /usr/bin/gpioinfo /usr/bin/gpiodetect \
	/usr/sbin/i2cset /usr/sbin/i2cget; do
	add "$p"
done
# iotgwd itself was built outside the root, against its libraries.
add_elf "$iotgwd" /usr/bin/iotgwd

# busybox-static provides the shell and the small tools; the programs above win
# (PATH has /usr/sbin and /usr/bin first, busybox's links are in /bin).
cp /bin/busybox "$img/bin/busybox"
for a in $(/bin/busybox --list); do
	[ -e "$img/bin/$a" ] || [ -e "$img/usr/bin/$a" ] || [ -e "$img/usr/sbin/$a" ] ||
		ln -s busybox "$img/bin/$a"
done
ln -sf bin/busybox "$img/linuxrc"

printf 'root:x:0:0:root:/root:/bin/sh\n' >"$img/etc/passwd"
printf 'root:x:0:\n' >"$img/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$img/etc/hosts"
: >"$img/etc/resolv.conf"
cp "$here/init.sh" "$img/init"
cp "$here/scenarios.sh" "$img/vm/scenarios.sh"
chmod 0755 "$img/init"
cp "$kernel/i2c-stub.ko" "$img/lib/modules/"

(cd "$img" && find . | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$work/initrd.gz"

console=$work/console.log
echo "vm $name: booting $(basename "$kernel") with $(du -h "$work/initrd.gz" | cut -f1) of initramfs"
started=$SECONDS
set +e
timeout "${IOTGWD_VM_TIMEOUT:-600}" qemu-system-x86_64 -accel tcg -m 512 -smp 1 \
	-nodefaults -no-reboot -display none -monitor none \
	-serial "file:$console" \
	-device isa-debug-exit,iobase=0xf4,iosize=0x04 \
	-kernel "$kernel/bzImage" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 panic=-1 loglevel=4 vm_userland=$name vm_only=${IOTGWD_VM_ONLY:-} vm_trace=${IOTGWD_VM_TRACE:-0} vm_known_defects=${IOTGWD_VM_KNOWN_DEFECTS:-0}"
rc=$?
set -e
took=$((SECONDS - started))

# Console lines end in CRLF.
tr -d '\r' <"$console" >"$work/console.txt"
grep -E '^(ok|FAIL) [0-9]+ - |^#   |^vm: ' "$work/console.txt" || true
passed=$(grep -c '^ok [0-9]* - ' "$work/console.txt" || true)
failed=$(grep -c '^FAIL [0-9]* - ' "$work/console.txt" || true)
finished=$(grep -c '^vm: [0-9]* passed, [0-9]* failed' "$work/console.txt" || true)

# isa-debug-exit: status = byte * 2 + 1, so 1 is "all passed", 3 "some failed".
problem=
case $rc in
1) [ "$failed" -eq 0 ] || problem="exit status says all passed, console shows failures" ;;
3) problem="scenarios failed" ;;
124) problem="timed out after ${IOTGWD_VM_TIMEOUT:-600}s" ;;
*) problem="QEMU exited with status $rc (the VM did not finish through isa-debug-exit)" ;;
esac
[ "$finished" -ge 1 ] || problem=${problem:-"no summary line on the console"}
[ "$passed" -gt 0 ] || problem=${problem:-"no scenario passed"}

if [ -n "$problem" ]; then
	[ "$failed" -gt 0 ] || failed=1
	echo "vm $name: $problem; console tail:"
	tail -n 60 "$work/console.txt" | sed 's/^/  | /'
	echo "vm $name: $passed passed, $failed failed (${took}s)"
	exit 1
fi
echo "vm $name: $passed passed, $failed failed (${took}s)"

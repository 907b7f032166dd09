#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/vm-systemd/run.sh: boot the Debian 12 image of image.sh (systemd as PID 1)
# in QEMU and run tests/vm-systemd/scenarios.sh in it against the iotgwd package.
#
#   tests/vm-systemd/run.sh --deb iotgwd_VERSION_amd64.deb
#
# The package and the scenarios go in on a second disk (an ext4 made with
# mkfs.ext4 -d), which also brings the results back (read with debugfs); the
# cached root image is opened with snapshot=on, so no run changes it. Prints the
# "ok NAME" / "FAIL NAME" lines (with what a failing scenario saw and the unit's
# journal tail) and "vm-systemd: N passed, M failed"; exits 0 when all passed,
# 1 otherwise. IOTGWD_VM_SYSTEMD_TIMEOUT bounds the VM (seconds, default 900);
# IOTGWD_VM_SYSTEMD_ONLY=NAME,NAME runs only those scenarios, in the order of
# scenarios.sh: list what sets up the state they test too (install, sim_start).
# IOTGWD_VM_SYSTEMD_KEEP=DIR keeps the console and the journal of a failed run.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
deb=
while [ $# -gt 0 ]; do
	case $1 in
	--deb) deb=$2; shift 2 ;;
	*) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
[ -f "$deb" ] || { echo "run.sh: no package (--deb)" >&2; exit 2; }

image=$("$here/image.sh" "$deb")

work=$(mktemp -d /tmp/iotgwd-vm-systemd.XXXXXX)
trap 'rm -rf --one-file-system "$work"' EXIT
mkdir "$work/data"
cp "$deb" "$work/data/iotgwd.deb"
cp "$here/scenarios.sh" "$work/data/scenarios.sh"
if [ -n "${IOTGWD_VM_SYSTEMD_ONLY:-}" ]; then
	tr ',' '\n' <<<"$IOTGWD_VM_SYSTEMD_ONLY" >"$work/data/only"
fi
mkfs.ext4 -q -F -L vmdata -d "$work/data" "$work/data.img" 96M >/dev/null
# The ACPI device that gives the guest a GPIO chip (see gpio-chip.asl).
iasl -p "$work/gpio-chip" "$here/gpio-chip.asl" >"$work/iasl.log" 2>&1 || { cat "$work/iasl.log"; exit 1; }

console=$work/console.log
timeout=${IOTGWD_VM_SYSTEMD_TIMEOUT:-900}
echo "vm-systemd: booting $(basename "$image")/vmlinuz with systemd (timeout ${timeout}s)"
started=$SECONDS
set +e
timeout "$timeout" qemu-system-x86_64 -accel tcg -m 1024 -smp 1 \
	-nodefaults -no-reboot -display none -monitor none \
	-serial "file:$console" \
	-drive "file=$image/root.img,if=virtio,format=raw,snapshot=on" \
	-drive "file=$work/data.img,if=virtio,format=raw" \
	-device virtio-rng-pci \
	-acpitable "file=$work/gpio-chip.aml" \
	-kernel "$image/vmlinuz" -initrd "$image/initrd.img" \
	-append "console=ttyS0 root=/dev/vda rw quiet loglevel=3 systemd.show_status=false panic=-1"
rc=$?
set -e
took=$((SECONDS - started))

tr -d '\r' <"$console" >"$work/console.txt"
# The results file is what the scenarios wrote; the console is the fallback
# when the VM did not get as far as unmounting the data disk.
debugfs -R "cat /results.txt" "$work/data.img" >"$work/results.txt" 2>/dev/null || true
# journald forwards the unit's output there as "[TIME] bash[PID]: LINE".
[ -s "$work/results.txt" ] || sed -n 's/^\[ *[0-9.]*\] bash\[[0-9]*\]: //p' "$work/console.txt" |
	grep -E '^(ok|FAIL) |^#   |^vm-systemd: ' >"$work/results.txt" || true
cat "$work/results.txt"
passed=$(grep -c '^ok ' "$work/results.txt" || true)
failed=$(grep -c '^FAIL ' "$work/results.txt" || true)

problem=
case $rc in
0) ;;
124) problem="timed out after ${timeout}s" ;;
*) problem="QEMU exited with status $rc" ;;
esac
grep -q '^vm-systemd: [0-9]* passed, [0-9]* failed' "$work/results.txt" || problem=${problem:-"the scenarios did not finish"}
[ "$passed" -gt 0 ] || problem=${problem:-"no scenario passed"}
[ "$failed" -eq 0 ] || problem=${problem:-"scenarios failed"}

if [ -n "$problem" ]; then
	[ "$failed" -gt 0 ] || failed=1
	echo "vm-systemd: $problem; console tail:"
	tail -n 40 "$work/console.txt" | sed 's/^/  | /'
	if debugfs -R "cat /journal.txt" "$work/data.img" >"$work/journal.txt" 2>/dev/null && [ -s "$work/journal.txt" ]; then
		echo "vm-systemd: journal tail:"
		tail -n 60 "$work/journal.txt" | sed 's/^/  | /'
	fi
	[ -z "${IOTGWD_VM_SYSTEMD_KEEP:-}" ] || { cp "$work/console.txt" "$work/journal.txt" "$IOTGWD_VM_SYSTEMD_KEEP/" 2>/dev/null || true; }
	echo "vm-systemd: $passed passed, $failed failed (${took}s)"
	exit 1
fi
echo "vm-systemd: $passed passed, $failed failed (${took}s)"

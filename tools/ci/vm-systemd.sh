#!/bin/bash
# SPDX-License-Identifier: MIT
# CI stage "vm-systemd": the installed package under a real systemd. Boots a
# Debian 12 image (mmdebstrap, mkfs.ext4 -d; cached in /var/cache/iotgwd-vm-systemd)
# with Debian's own kernel in QEMU (TCG) and runs tests/vm-systemd/scenarios.sh
# there: dpkg -i, the user and groups, the udev rules and the device policy on an
# i2c-stub bus and a GPIO chip, the unit's sandbox as the process sees it,
# MQTT, the journal's fields, reload, the watchdog, restarts, exit 78, stop, a
# SystemCallLog= run, purge.
#
# The .deb comes from the deb stage ($IOTGWD_CI_OUT) when it was built from the
# current tree; otherwise this stage runs the deb stage first. Exits 77 when this
# machine cannot run QEMU's x86_64 emulation.
# shellcheck source=tools/ci/lib.inc
source "$(dirname "${BASH_SOURCE[0]}")/lib.inc"

if [ "$(uname -m)" != x86_64 ]; then
	echo "==> ci vm-systemd: skipped: the VM needs an x86_64 machine (this is $(uname -m))"
	exit 77
fi

ci_begin vm-systemd

out=${IOTGWD_CI_OUT:-/tmp/iotgwd-ci}
mapfile -t tools < <(ci_stage_depends vm-systemd)
ci_apt_install "${tools[@]}"
if ! qemu-system-x86_64 -accel help 2>/dev/null | grep -qx tcg; then
	echo "==> ci vm-systemd: skipped: qemu-system-x86_64 has no TCG accelerator"
	trap - EXIT
	exit 77
fi

debs=("$out"/iotgwd_*_amd64.deb)
deb=${debs[0]}
if [ ! -f "$deb" ] || [ "$(cat "$out/iotgwd-amd64.tree" 2>/dev/null)" != "$(ci_tree_fingerprint)" ]; then
	ci_log "no .deb built from the current tree: running the deb stage"
	IOTGWD_CI_OUT=$out bash "$ci_top/tools/ci/deb.sh"
	debs=("$out"/iotgwd_*_amd64.deb)
	deb=${debs[0]}
fi
ci_log "testing $deb"
"$ci_top/tests/vm-systemd/run.sh" --deb "$deb"

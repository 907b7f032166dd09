#!/bin/bash
# SPDX-License-Identifier: MIT
# CI stage "pkg-test": install the amd64 .deb into fresh Debian 12 roots and run
# tests/pkg/check-installed.sh there, once as a normal system and once with
# systemd-sysusers hidden (the postinst's adduser fallback).
#
# The .deb comes from the deb stage ($IOTGWD_CI_OUT) when it was built from the
# current tree; otherwise this stage runs the deb stage first. The base root is
# made once with mmdebstrap and cached in /var/cache/iotgwd-bookworm; every run
# works on copies of it.
# shellcheck source=tools/ci/lib.inc
source "$(dirname "${BASH_SOURCE[0]}")/lib.inc"
ci_begin pkg-test

out=${IOTGWD_CI_OUT:-/tmp/iotgwd-ci}
cache=/var/cache/iotgwd-bookworm
mapfile -t tools < <(ci_stage_depends pkg-test)
ci_apt_install "${tools[@]}"

debs=("$out"/iotgwd_*_amd64.deb)
deb=${debs[0]}
if [ ! -f "$deb" ] || [ "$(cat "$out/iotgwd-amd64.tree" 2>/dev/null)" != "$(ci_tree_fingerprint)" ]; then
	ci_log "no .deb built from the current tree: running the deb stage"
	IOTGWD_CI_OUT=$out bash "$ci_top/tools/ci/deb.sh"
	debs=("$out"/iotgwd_*_amd64.deb)
	deb=${debs[0]}
fi
ci_log "testing $deb"

# The base root: systemd for systemd-sysusers and systemd-analyze, man-db to
# render the pages, util-linux for setpriv. Built under a lock and renamed into
# place so that a concurrent or interrupted run never sees half a root.
exec 9>"$cache.lock"
flock 9
if [ ! -x "$cache/usr/bin/apt-get" ]; then
	ci_log "creating $cache with mmdebstrap"
	rm -rf --one-file-system "$cache.new"
	mapfile -t sources < <(ci_debian_sources bookworm)
	mmdebstrap --quiet --variant=minbase --include=systemd,adduser,man-db \
		bookworm "$cache.new" \
		"${sources[@]}"
	mv "$cache.new" "$cache"
fi
flock -u 9

work=$(mktemp -d /tmp/iotgwd-pkg-test.XXXXXX)
# --one-file-system: should a mount have survived, never delete through it.
ci_on_exit "rm -rf --one-file-system '$work'"

rc=0
for scenario in full no-sysusers; do
	ci_log "scenario $scenario"
	cp -a "$cache" "$work/$scenario"
	# A private mount namespace: the mounts made inside die with it, even if
	# the test is killed before its own trap runs.
	unshare --mount --propagation private \
		bash "$ci_top/tests/pkg/check-installed.sh" "$work/$scenario" "$deb" "$scenario" || rc=1
	rm -rf --one-file-system "${work:?}/$scenario"
done
exit $rc

#!/bin/bash
# SPDX-License-Identifier: MIT
# CI stage "deb": build the amd64 package from a copy of the working tree, lint it
# (no lintian error or warning allowed), and check the unit it ships with
# systemd-analyze (verify, and a sandbox exposure of at most 1.5).
#
# The .deb and a fingerprint of the tree it was built from are left in
# $IOTGWD_CI_OUT (default /tmp/iotgwd-ci) for the pkg-test stage.
# shellcheck source=tools/ci/lib.inc
source "$(dirname "${BASH_SOURCE[0]}")/lib.inc"
ci_begin deb

out=${IOTGWD_CI_OUT:-/tmp/iotgwd-ci}
version=$(ci_version)
mapfile -t tools < <(ci_stage_depends deb)
ci_apt_install "${tools[@]}"
# Every source file says its license (debian/copyright: MIT throughout).
bash "$ci_top/tools/ci/spdx-check.sh"
if ! (cd "$ci_top" && dpkg-checkbuilddeps 2>/dev/null); then
	ci_log "installing Build-Depends"
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 build-dep -y -q "$ci_top" >/dev/null
fi

# Building writes debian/iotgwd, debian/files, config.status... into the tree it
# runs in: never the shared tree, always a private copy.
work=$(mktemp -d /tmp/iotgwd-deb.XXXXXX)
ci_on_exit "rm -rf '$work'"
src=$work/iotgwd-$version
ci_copy_tree "$src"
fingerprint=$(ci_tree_fingerprint)

# "make check" is the tests stage's job (and trixie's): the package build skips
# it unless DEB_BUILD_OPTIONS says otherwise (e.g. DEB_BUILD_OPTIONS= for a full
# Debian-style build with the tests).
export DEB_BUILD_OPTIONS=${DEB_BUILD_OPTIONS-nocheck}
ci_log "dpkg-source and dpkg-buildpackage -b (DEB_BUILD_OPTIONS='$DEB_BUILD_OPTIONS')"
(cd "$work" && dpkg-source -b "iotgwd-$version" >"$work/source.log" 2>&1) ||
	{ cat "$work/source.log"; exit 1; }
(cd "$src" && dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1) ||
	{ tail -n 80 "$work/build.log"; exit 1; }
deb=$work/iotgwd_${version}_amd64.deb
[ -f "$deb" ] || { ci_log "missing $(basename "$deb")"; exit 1; }
dpkg-deb -c "$deb"

ci_log "lintian"
lintian -I --fail-on error,warning "$work/iotgwd_$version.dsc" "$deb"

# verify needs the binaries the unit names: point them into the package tree.
ci_log "systemd-analyze verify and security"
unit=$src/debian/iotgwd/lib/systemd/system/iotgwd.service
mkdir -p "$work/unit"
sed "s|/usr/sbin/iotgwd|$src/debian/iotgwd/usr/sbin/iotgwd|g" "$unit" >"$work/unit/iotgwd.service"
# The man pages are checked in the installed root (pkg-test), not on this host.
systemd-analyze verify --man=no "$work/unit/iotgwd.service"
systemd-analyze security --offline=true --threshold=15 --no-pager "$unit" | tail -n 1

mkdir -p "$out"
rm -f "$out"/iotgwd_*_amd64.deb
cp "$deb" "$out/"
echo "$fingerprint" >"$out/iotgwd-amd64.tree"
ci_log "built $out/$(basename "$deb")"

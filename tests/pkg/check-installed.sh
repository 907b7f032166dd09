#!/bin/bash
# SPDX-License-Identifier: MIT
# Installed-package test of iotgwd: installs the .deb into a Debian root, checks
# what it put there and what its maintainer scripts did, then purges it and
# checks what is gone and what (by policy) stays. One PASS/FAIL line per check;
# exits 1 if any check failed.
#
# Usage: check-installed.sh ROOT DEB [SCENARIO]
#   ROOT      a disposable Debian 12 root (this script mounts /proc, /dev and
#             /dev/pts in it: run it in a private mount namespace, "unshare -m")
#   DEB       the iotgwd_*.deb to install
#   SCENARIO  "full" (default): every check, install to purge;
#             "no-sysusers": systemd-sysusers hidden, so the postinst has to fall
#             back to adduser; checks the user and groups only.
set -uo pipefail

root=$1
deb=$2
scenario=${3:-full}
failures=0

# Results go to fd 3 (the original stdout) so that a check's own output can be
# redirected without hiding its PASS/FAIL line.
exec 3>&1
pass() { echo "PASS: $*" >&3; }
fail() { echo "FAIL: $*" >&3; failures=$((failures + 1)); }
# check DESCRIPTION COMMAND...: one line for one command's exit status.
check() {
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}
in_root() { chroot "$root" "$@"; }

umount_all() {
	local m
	for m in dev/pts dev proc; do
		mountpoint -q "$root/$m" && umount -l "$root/$m"
	done
	return 0
}
trap umount_all EXIT

mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"

# Nothing may start services in a chroot (mosquitto, pulled in as a
# recommendation, would otherwise try).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
cp "$deb" "$root/tmp/"
debname=$(basename "$deb")

if [ "$scenario" = no-sysusers ]; then
	in_root dpkg-divert --quiet --local --rename --add /bin/systemd-sysusers
	check "systemd-sysusers is hidden for the fallback test" \
		in_root sh -c '! command -v systemd-sysusers >/dev/null'
fi

in_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null 2>&1
if in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "/tmp/$debname" \
	>"$root/tmp/install.log" 2>&1; then
	pass "apt-get install ./$debname"
else
	fail "apt-get install ./$debname"
	cat "$root/tmp/install.log"
	exit 1
fi

# ---- user and groups (the postinst's job) ----
check "user iotgwd exists" in_root getent passwd iotgwd >/dev/null
uid=$(in_root id -u iotgwd 2>/dev/null || echo none)
check "user iotgwd is a system user (uid $uid)" test "$uid" != none -a "$uid" -lt 1000
check "home of iotgwd is /var/lib/iotgwd" \
	test "$(in_root getent passwd iotgwd | cut -d: -f6)" = /var/lib/iotgwd
for g in gpio i2c; do
	check "group $g exists" in_root getent group "$g" >/dev/null
	check "iotgwd is in group $g" in_root sh -c "id -nG iotgwd | tr ' ' '\n' | grep -qx $g"
done

if [ "$scenario" = no-sysusers ]; then
	[ $failures -eq 0 ] && echo "pkg-test $scenario: all checks passed" || echo "pkg-test $scenario: $failures check(s) failed"
	[ $failures -eq 0 ]
	exit
fi

# ---- files, owners and modes ----
# check_path PATH TYPE MODE: TYPE as stat %F, owned by root:root.
check_path() {
	local got
	got=$(in_root stat -c '%F %a %U:%G' "$1" 2>/dev/null)
	if [ "$got" = "$2 $3 root:root" ]; then pass "$1 ($got)"; else fail "$1: want '$2 $3 root:root', got '${got:-missing}'"; fi
}
check_path /usr/sbin/iotgwd "regular file" 755
check_path /usr/share/man/man8/iotgwd.8.gz "regular file" 644
check_path /usr/share/man/man5/iotgwd.conf.5.gz "regular file" 644
check_path /etc/iotgwd "directory" 755
check_path /etc/iotgwd/iotgwd.conf "regular file" 644
check_path /etc/iotgwd/conf.d "directory" 755
check_path /lib/systemd/system/iotgwd.service "regular file" 644
check_path /usr/lib/sysusers.d/iotgwd.conf "regular file" 644
check_path /lib/udev/rules.d/60-iotgwd-gpio.rules "regular file" 644
check_path /lib/udev/rules.d/60-iotgwd-i2c.rules "regular file" 644
check "/etc/iotgwd/iotgwd.conf is a conffile" \
	grep -qx /etc/iotgwd/iotgwd.conf "$root/var/lib/dpkg/info/iotgwd.conffiles"
check "conf.d is empty" test -z "$(ls -A "$root/etc/iotgwd/conf.d")"
check "iotgwd.service is enabled" \
	test -L "$root/etc/systemd/system/multi-user.target.wants/iotgwd.service"
check "man pages render without warnings" in_root sh -c \
	'for p in /usr/share/man/man8/iotgwd.8.gz /usr/share/man/man5/iotgwd.conf.5.gz; do
		w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null) || exit 1
		[ -z "$w" ] || { echo "$w"; exit 1; }
	done'

# ---- the daemon and its unit ----
check "iotgwd --check accepts the shipped configuration" in_root /usr/sbin/iotgwd --check
check "iotgwd --check works as user iotgwd" \
	in_root setpriv --reuid=iotgwd --regid=iotgwd --init-groups /usr/sbin/iotgwd --check
check "systemd-analyze verify iotgwd.service" \
	in_root systemd-analyze verify /lib/systemd/system/iotgwd.service
check "systemd-analyze security: exposure at most 1.5" \
	in_root systemd-analyze security --offline=true --threshold=15 --no-pager \
	/lib/systemd/system/iotgwd.service >/dev/null

# ---- upgrade path: configure again with an old version (postinst is idempotent) ----
check "reinstall (postinst configure over an existing user)" \
	in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --reinstall "/tmp/$debname" >/dev/null 2>&1
check "user iotgwd still in gpio after reinstall" in_root sh -c "id -nG iotgwd | grep -qw gpio"

# ---- purge: package files, conffile and state go; the user stays (policy 9.2.2) ----
# The service never ran here; leave state the way StateDirectory= would.
in_root install -d -o iotgwd -g iotgwd -m 0750 /var/lib/iotgwd
in_root sh -c 'echo state > /var/lib/iotgwd/state'
check "apt-get purge iotgwd" \
	in_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -q iotgwd >/dev/null 2>&1
check "package is purged from dpkg's database" in_root sh -c '! dpkg -s iotgwd >/dev/null 2>&1'
for p in /usr/sbin/iotgwd /lib/systemd/system/iotgwd.service /usr/lib/sysusers.d/iotgwd.conf \
	/lib/udev/rules.d/60-iotgwd-gpio.rules /lib/udev/rules.d/60-iotgwd-i2c.rules \
	/usr/share/man/man8/iotgwd.8.gz /etc/iotgwd/iotgwd.conf /etc/iotgwd \
	/var/lib/iotgwd /etc/systemd/system/multi-user.target.wants/iotgwd.service; do
	check "purged: $p" test ! -e "$root$p" -a ! -L "$root$p"
done
check "user iotgwd is kept after purge" in_root getent passwd iotgwd >/dev/null

[ $failures -eq 0 ] && echo "pkg-test $scenario: all checks passed" || echo "pkg-test $scenario: $failures check(s) failed"
[ $failures -eq 0 ]

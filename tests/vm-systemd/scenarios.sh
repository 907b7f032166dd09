#!/bin/bash
# SPDX-License-Identifier: MIT
# The scenarios of the systemd VM (tests/vm-systemd/), run by iotgwd-vmtest.service
# in a booted Debian 12 with systemd as PID 1: the user story of the package, from
# "dpkg -i" to "apt-get purge". Each scenario prints "ok NAME" or "FAIL NAME" (and
# what it saw, then the tail of the unit's journal) on the console and into
# /vmdata/results.txt; the last line is "vm-systemd: N passed, M failed". A
# scenario whose preconditions failed is reported as failed, never skipped
# silently. /vmdata/only (one name a line, if present) limits the run.
set -u
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
export SYSTEMD_PAGER='' SYSTEMD_COLORS=0 LC_ALL=C.UTF-8

D=/vmdata
RESULTS=$D/results.txt
BASE=iotgw/vm
MQTT_LOG=/tmp/mqtt.log
DROPIN=/etc/iotgwd/conf.d/50-vm.conf
UNIT_DROPIN=/etc/systemd/system/iotgwd.service.d
: >"$RESULTS"
passed=0
failed=0
detail=

say() {
	echo "$*"
	echo "$*" >>"$RESULTS"
}

# note TEXT: what a failing scenario saw, printed under its FAIL line.
note() {
	detail+=$(printf '%s\n' "$*" | sed 's/^/#   /')$'\n'
}

wanted() {
	[ ! -s "$D/only" ] || grep -qx "$1" "$D/only"
}

# run NAME: run scenario_NAME, report it.
run() {
	local name=$1
	wanted "$name" || return 0
	detail=
	if "scenario_$name"; then
		say "ok $name"
		passed=$((passed + 1))
	else
		say "FAIL $name"
		[ -z "$detail" ] || printf '%s' "$detail" | tee -a "$RESULTS"
		journalctl -u iotgwd -n 25 --no-pager -o short-monotonic 2>&1 | sed 's/^/#   | /' | tee -a "$RESULTS"
		failed=$((failed + 1))
	fi
}

now_ms() {
	echo $(( $(date +%s%N) / 1000000 ))
}

# until_ms TIMEOUT_MS CMD...: run CMD until it succeeds or TIMEOUT_MS passed.
until_ms() {
	local end=$(( $(now_ms) + $1 ))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

prop() {
	systemctl show -P "$2" "$1"
}

main_pid() {
	prop iotgwd MainPID
}

is_active() {
	[ "$(systemctl is-active iotgwd)" = active ]
}

# Active, and its STATUS= says it is connected.
connected() {
	is_active && prop iotgwd StatusText | grep -q '^connected to '
}

# mqtt_seen LINE: the subscriber running since start saw "TOPIC PAYLOAD".
mqtt_seen() {
	grep -qxF -- "$1" "$MQTT_LOG"
}

# mqtt_count LINE: how often.
mqtt_count() {
	grep -cxF -- "$1" "$MQTT_LOG"
}

# journal_json [ARGS...]: the unit's journal since the cursor as JSON lines.
journal_json() {
	journalctl -u iotgwd -o json --no-pager "$@"
}

# Restart under a clean start-limit counter: the scenarios start the unit more
# often than StartLimitBurst= allows in StartLimitIntervalSec=.
restart() {
	systemctl reset-failed iotgwd 2>/dev/null
	systemctl restart iotgwd
}

sim_conf() {
	cat >"$DROPIN" <<-'EOF'
	[gateway]
	name = vm
	hal = sim

	[output relay]
	chip = gpiochip0
	line = 5
	initial = off
	on_shutdown = off

	[input door]
	chip = gpiochip0
	line = 6
	bias = pull-up
	EOF
}

# ---- scenarios ----------------------------------------------------------

scenario_install() {
	local out
	until_ms 60000 systemctl is-active -q mosquitto || { note "mosquitto not active"; return 1; }
	if ! out=$(dpkg -i "$D/iotgwd.deb" 2>&1); then
		note "dpkg -i failed: $out"
		return 1
	fi
	dpkg-query -W -f='${db:Status-Status}' iotgwd | grep -qx installed || { note "not installed"; return 1; }
	systemctl is-enabled -q iotgwd || { note "unit not enabled"; return 1; }
}

scenario_user() {
	local groups home shell owned
	getent passwd iotgwd >/dev/null || { note "no user iotgwd"; return 1; }
	groups=" $(id -nG iotgwd) "
	case $groups in *" gpio "*) ;; *) note "iotgwd not in gpio: $groups"; return 1 ;; esac
	case $groups in *" i2c "*) ;; *) note "iotgwd not in i2c: $groups"; return 1 ;; esac
	home=$(getent passwd iotgwd | cut -d: -f6)
	shell=$(getent passwd iotgwd | cut -d: -f7)
	[ "$home" = /var/lib/iotgwd ] || { note "home $home"; return 1; }
	case $shell in */nologin|/bin/false) ;; *) note "login shell $shell"; return 1 ;; esac
	[ "$(id -u iotgwd)" -lt 1000 ] || { note "not a system uid: $(id -u iotgwd)"; return 1; }
	# The user owns its state directory and nothing else on the root file system.
	owned=$(find / -xdev -user iotgwd ! -path '/var/lib/iotgwd' ! -path '/var/lib/iotgwd/*' 2>/dev/null)
	[ -z "$owned" ] || { note "iotgwd owns: $owned"; return 1; }
}

# The default packaged configuration: hal = gpiod, no entity, the local broker.
scenario_default_start() {
	until_ms 30000 connected || { note "state $(systemctl is-active iotgwd), STATUS '$(prop iotgwd StatusText)'"; return 1; }
	systemctl status iotgwd --no-pager >/tmp/status.txt 2>&1
	grep -qE 'Status: "connected to [^,]+:1883, 0 entities' /tmp/status.txt ||
		{ note "systemctl status: $(cat /tmp/status.txt)"; return 1; }
}

# After=mosquitto.service: started together, the broker is ready first.
scenario_after_mosquitto() {
	local b g
	prop iotgwd After | tr ' ' '\n' | grep -qx mosquitto.service ||
		{ note "After=$(prop iotgwd After)"; return 1; }
	systemctl stop iotgwd mosquitto
	systemctl start iotgwd mosquitto || { note "start failed"; return 1; }
	b=$(prop mosquitto ActiveEnterTimestampMonotonic)
	g=$(prop iotgwd ExecMainStartTimestampMonotonic)
	[ "$g" -gt "$b" ] || { note "iotgwd started at $g, mosquitto active at $b"; return 1; }
	until_ms 30000 connected || { note "not connected: '$(prop iotgwd StatusText)'"; return 1; }
}

scenario_sandbox() {
	local pid st uid v
	is_active || { note "not active"; return 1; }
	pid=$(main_pid)
	st=$(cat "/proc/$pid/status") || { note "no /proc/$pid/status"; return 1; }
	uid=$(id -u iotgwd)
	echo "$st" | grep -qP "^Uid:\t$uid\t$uid\t$uid\t$uid$" || { note "$(echo "$st" | grep ^Uid)"; return 1; }
	echo "$st" | grep -qP '^CapEff:\t0000000000000000$' || { note "$(echo "$st" | grep ^Cap)"; return 1; }
	echo "$st" | grep -qP '^CapPrm:\t0000000000000000$' || { note "$(echo "$st" | grep ^Cap)"; return 1; }
	echo "$st" | grep -qP '^NoNewPrivs:\t1$' || { note "$(echo "$st" | grep ^NoNewPrivs)"; return 1; }
	echo "$st" | grep -qP '^Seccomp:\t2$' || { note "$(echo "$st" | grep ^Seccomp)"; return 1; }
	[ "$(ps -o user= -p "$pid")" = iotgwd ] || { note "runs as $(ps -o user= -p "$pid")"; return 1; }
	for v in ProtectSystem=strict ProtectHome=yes PrivateTmp=yes DevicePolicy=closed \
		NoNewPrivileges=yes MemoryDenyWriteExecute=yes RestrictNamespaces=yes; do
		[ "$(prop iotgwd "${v%%=*}")" = "${v#*=}" ] || { note "${v%%=*}=$(prop iotgwd "${v%%=*}")"; return 1; }
	done
	# ProtectSystem=strict: the process sees /etc read-only, its state directory writable.
	grep -qE '^[^ ]+ /etc [^ ]+ ro[, ]| / [^ ]+ ro[, ]' "/proc/$pid/mounts" || { note "/ not read-only"; return 1; }
	grep -E ' /var/lib/iotgwd ' "/proc/$pid/mounts" | grep -q ' rw' || { note "/var/lib/iotgwd not rw"; return 1; }
}

# The i2c rule: an i2c-stub bus shows as /dev/i2c-N owned by group i2c, 0660.
scenario_udev_i2c() {
	local dev
	if ! modprobe i2c-dev || ! modprobe i2c-stub chip_addr=0x76; then
		note "modprobe failed"
		return 1
	fi
	until_ms 10000 sh -c 'ls /dev/i2c-* >/dev/null 2>&1' || { note "no /dev/i2c-*"; return 1; }
	udevadm settle -t 10
	dev=$(find /dev -maxdepth 1 -name 'i2c-*' | head -n 1)
	[ "$(stat -c %G:%a "$dev")" = i2c:660 ] || { note "$dev is $(stat -c %U:%G:%a "$dev")"; return 1; }
}

# DeviceAllow=char-i2c, the i2c group and the seccomp filter let the daemon use
# the bus: a BME280 on the i2c-stub bus is opened, addressed and read (the empty
# stub answers chip id 0x00, which the driver reports), not refused (EPERM).
scenario_i2c_sandbox() {
	local bus n
	for n in /sys/class/i2c-dev/*; do
		grep -q 'SMBus stub driver' "$n/name" 2>/dev/null && bus=/dev/${n##*/}
	done
	[ -n "${bus:-}" ] || { note "no i2c-stub bus"; return 1; }
	printf '[sensor climate]\ndriver = bme280\nbus = %s\naddress = 0x76\ninterval = 5s\n' "$bus" \
		>/etc/iotgwd/conf.d/40-i2c.conf
	since=$(date '+%Y-%m-%d %H:%M:%S')
	restart || { rm -f /etc/iotgwd/conf.d/40-i2c.conf; note "start failed"; return 1; }
	until_ms 30000 sh -c "journalctl -u iotgwd --since '$since' -o cat | grep -q 'chip id 0x00 at address 0x76 is not a'"
	n=$(journalctl -u iotgwd --since "$since" -o cat)
	rm -f /etc/iotgwd/conf.d/40-i2c.conf
	restart || { note "restart without the sensor failed"; return 1; }
	echo "$n" | grep -q 'chip id 0x00 at address 0x76 is not a' || { note "no chip id read: $n"; return 1; }
	! echo "$n" | grep -qi 'not permitted\|permission denied' || { note "refused: $n"; return 1; }
}

# The gpio rule: the chip of gpio-amdpt (an ACPI device QEMU is given, see
# gpio-chip.asl) shows as /dev/gpiochipN owned by group gpio, 0660.
gpio_chip_dev() {
	local c
	for c in /dev/gpiochip*; do
		[ -e "$c" ] && udevadm info -q path "$c" | grep -q '/AMDIF030:00/' && echo "$c"
	done | head -n 1
}

scenario_udev_gpio() {
	local dev
	modprobe gpio-amdpt || { note "modprobe gpio-amdpt failed"; return 1; }
	until_ms 10000 sh -c 'ls /dev/gpiochip* >/dev/null 2>&1' || { note "no /dev/gpiochip*"; return 1; }
	udevadm settle -t 10
	dev=$(gpio_chip_dev)
	[ -n "$dev" ] || { note "no chip of AMDIF030:00: $(ls -l /dev/gpiochip*)"; return 1; }
	[ "$(stat -c %G:%a "$dev")" = gpio:660 ] || { note "$dev is $(stat -c %U:%G:%a "$dev")"; return 1; }
}

# DeviceAllow=char-gpiochip and the gpio group let the daemon (hal = gpiod) request
# a line of that chip, named by its label, and serve it.
scenario_gpio_sandbox() {
	local base since
	base=iotgw/$(hostname)
	printf '[output lamp0]\nchip = AMDIF030:00\nline = 0\ninitial = off\n' >/etc/iotgwd/conf.d/40-gpio.conf
	since=$(date '+%Y-%m-%d %H:%M:%S')
	restart || { rm -f /etc/iotgwd/conf.d/40-gpio.conf; note "start failed"; return 1; }
	: >/tmp/mqtt-gpio.log
	mosquitto_sub -v -t "$base/#" >>/tmp/mqtt-gpio.log 2>/dev/null &
	local sub=$! seen=0 log
	until_ms 30000 grep -qxF "$base/lamp0/state OFF" /tmp/mqtt-gpio.log || seen=1
	kill "$sub"
	log=$(journalctl -u iotgwd --since "$since" -o cat)
	rm -f /etc/iotgwd/conf.d/40-gpio.conf
	restart || { note "restart without the output failed"; return 1; }
	[ "$seen" -eq 0 ] || { note "no lamp0 state; journal: $log"; return 1; }
	echo "$log" | grep -q 'started: 0 inputs, 1 outputs, 0 sensors on gpiod' || { note "journal: $log"; return 1; }
}

# The control of gpio_sandbox: without DeviceAllow=char-gpiochip the chip meets
# EPERM from the device policy, and the journal says so. The chip is named by its
# path here: looked up by label, the chips it cannot open are skipped and the
# error is "No such file or directory".
scenario_gpio_denied() {
	local since log dev
	dev=$(gpio_chip_dev)
	[ -n "$dev" ] || { note "no chip of AMDIF030:00"; return 1; }
	mkdir -p "$UNIT_DROPIN"
	printf '[Service]\nDeviceAllow=\nDeviceAllow=char-i2c rw\n' >"$UNIT_DROPIN/50-vm-no-gpio.conf"
	systemctl daemon-reload
	# By path, and by label: a chip the sandbox hides must not read as a missing one.
	printf '[output lamp0]\nchip = %s\nline = 0\ninitial = off\n[output lamp1]\nchip = AMDIF030:00\nline = 1\n' \
		"$dev" >/etc/iotgwd/conf.d/40-gpio.conf
	since=$(date '+%Y-%m-%d %H:%M:%S')
	restart
	until_ms 30000 sh -c "journalctl -u iotgwd --since '$since' -o cat | grep -q 'lamp1.*Operation not permitted'"
	log=$(journalctl -u iotgwd --since "$since" -o cat)
	rm -f /etc/iotgwd/conf.d/40-gpio.conf "$UNIT_DROPIN/50-vm-no-gpio.conf"
	systemctl daemon-reload
	restart || { note "restart without the drop-in failed"; return 1; }
	echo "$log" | grep -q 'lamp0.*Operation not permitted' || { note "no EPERM for lamp0: $log"; return 1; }
	echo "$log" | grep -q 'lamp1.*Operation not permitted' || { note "no EPERM for lamp1 (by label): $log"; return 1; }
}

scenario_sim_start() {
	: >"$MQTT_LOG"
	sim_conf
	restart || { note "restart failed"; return 1; }
	until_ms 30000 connected || { note "not connected: '$(prop iotgwd StatusText)'"; return 1; }
	until_ms 20000 mqtt_seen "$BASE/status online" || { note "no online"; return 1; }
	until_ms 20000 mqtt_seen "$BASE/door/state ON" || { note "no door state; saw: $(cat "$MQTT_LOG")"; return 1; }
	until_ms 20000 mqtt_seen "$BASE/relay/state OFF" || { note "no relay state; saw: $(cat "$MQTT_LOG")"; return 1; }
	prop iotgwd StatusText | grep -qE '^connected to [^,]+:1883, 2 entities' || { note "STATUS '$(prop iotgwd StatusText)'"; return 1; }
}

scenario_commands() {
	local out
	out=$(mosquitto_rr -V 5 -q 1 -W 20 -t "$BASE/relay/set" -e "$BASE/reply/vm" -m ON 2>&1) ||
		{ note "mosquitto_rr: $out"; return 1; }
	[ "$out" = '{"entity":"relay","state":"ON"}' ] || { note "reply $out"; return 1; }
	until_ms 20000 mqtt_seen "$BASE/relay/state ON" || { note "no relay ON; saw: $(cat "$MQTT_LOG")"; return 1; }
	out=$(mosquitto_rr -V 5 -q 1 -W 20 -t "$BASE/relay/set" -e "$BASE/reply/vm" -m BOGUS 2>&1) ||
		{ note "mosquitto_rr: $out"; return 1; }
	echo "$out" | grep -q '"error"' || { note "reply to BOGUS: $out"; return 1; }
	out=$(mosquitto_rr -V 5 -q 1 -W 20 -t "$BASE/nosuch/set" -e "$BASE/reply/vm" -m ON 2>&1) ||
		{ note "mosquitto_rr: $out"; return 1; }
	echo "$out" | grep -q "unknown entity 'nosuch'" || { note "reply to nosuch: $out"; return 1; }
}

scenario_journal_start() {
	local n
	n=$(journal_json | jq -c 'select(.MESSAGE | tostring | test("^iotgwd .* started: 1 inputs, 1 outputs, 0 sensors on sim, broker [^ ]+:1883$")) | select(.PRIORITY == "6")' | wc -l)
	[ "$n" -ge 1 ] || { note "no start message at PRIORITY 6"; return 1; }
}

# A rejected command: a warning (PRIORITY 4) with the topic and the entity it
# names, known (relay) or not (nosuch).
scenario_journal_warning() {
	local j e
	j=$(journal_json | jq -c 'select(.PRIORITY == "4" and (.MESSAGE | tostring | startswith("rejected command on ")))')
	for e in relay nosuch; do
		echo "$j" | jq -s -e --arg t "$BASE/$e/set" --arg e "$e" \
			'any(.[]; .IOTGWD_TOPIC == $t and .IOTGWD_ENTITY == $e)' >/dev/null ||
			{ note "no warning with IOTGWD_TOPIC=$BASE/$e/set IOTGWD_ENTITY=$e in: $j"; return 1; }
	done
}

# Every field once: a location added by sd_journal_sendv() itself would make
# CODE_FILE, CODE_LINE and CODE_FUNC arrays.
scenario_journal_fields_once() {
	local bad
	bad=$(journal_json _COMM=iotgwd | jq -c 'select((.CODE_FILE | type) != "string" or (.CODE_LINE | type) != "string" or (.CODE_FUNC | type) != "string") | {MESSAGE, CODE_FILE, CODE_LINE, CODE_FUNC}' | head -n 3)
	[ -n "$(journal_json _COMM=iotgwd | head -c1)" ] || { note "no journal entries from iotgwd"; return 1; }
	[ -z "$bad" ] || { note "entries with repeated fields: $bad"; return 1; }
}

scenario_reload_good() {
	local pid
	pid=$(main_pid)
	cat >/etc/iotgwd/conf.d/60-lamp.conf <<-'EOF'
	[output lamp]
	chip = gpiochip0
	line = 7
	initial = on
	EOF
	systemctl reload iotgwd || { note "reload failed"; return 1; }
	until_ms 20000 mqtt_seen "$BASE/lamp/state ON" || { note "no lamp state; saw: $(cat "$MQTT_LOG")"; return 1; }
	[ "$(main_pid)" = "$pid" ] || { note "the process changed"; return 1; }
	until_ms 10000 sh -c 'journalctl -u iotgwd -o cat | grep -q "^Configuration reloaded: 1 inputs, 2 outputs, 0 sensors$"' ||
		{ note "no reload message"; return 1; }
	until_ms 10000 connected || { note "not active and connected after reload"; return 1; }
}

scenario_reload_bad() {
	local pid
	pid=$(main_pid)
	cat >/etc/iotgwd/conf.d/70-bad.conf <<-'EOF'
	[output lamp]
	no_such_key = 1
	EOF
	if systemctl reload iotgwd 2>/tmp/reload.err; then
		note "reload of a bad file succeeded"
		return 1
	fi
	is_active || { note "not active after a failed reload: $(systemctl is-active iotgwd)"; return 1; }
	[ "$(main_pid)" = "$pid" ] || { note "the process changed"; return 1; }
	until_ms 10000 sh -c 'journalctl -u iotgwd -o cat | grep -q "^/etc/iotgwd/conf.d/70-bad.conf:2: "' ||
		{ note "no FILE:LINE in the journal: $(journalctl -u iotgwd -o cat -n 5)"; return 1; }
	rm -f /etc/iotgwd/conf.d/70-bad.conf
	# The old configuration still runs: the lamp answers.
	: >"$MQTT_LOG.get"
	mosquitto_rr -V 5 -q 1 -W 20 -t "$BASE/lamp/get" -e "$BASE/reply/vm" -m '' >"$MQTT_LOG.get" 2>&1 ||
		{ note "lamp/get: $(cat "$MQTT_LOG.get")"; return 1; }
	grep -qxF '{"entity":"lamp","state":"ON"}' "$MQTT_LOG.get" || { note "lamp/get: $(cat "$MQTT_LOG.get")"; return 1; }
}

# The restart counter moved past N and the unit is active with a new process.
restarted() {
	[ "$(prop iotgwd NRestarts)" -gt "$1" ] && is_active && [ "$(main_pid)" != "$2" ] && [ "$(main_pid)" != 0 ]
}

scenario_watchdog() {
	local pid n since
	mkdir -p "$UNIT_DROPIN"
	printf '[Service]\nWatchdogSec=6s\n' >"$UNIT_DROPIN/50-vm-watchdog.conf"
	systemctl daemon-reload
	restart || { note "restart failed"; return 1; }
	until_ms 30000 connected || { note "not connected"; return 1; }
	[ "$(prop iotgwd WatchdogUSec)" = 6s ] || { note "WatchdogUSec=$(prop iotgwd WatchdogUSec)"; return 1; }
	pid=$(main_pid)
	n=$(prop iotgwd NRestarts)
	since=$(date '+%Y-%m-%d %H:%M:%S')
	kill -STOP "$pid"
	until_ms 60000 restarted "$n" "$pid" || { kill -CONT "$pid"; note "not restarted: NRestarts $(prop iotgwd NRestarts)"; return 1; }
	journalctl -u iotgwd --since "$since" -o cat | grep -q 'Watchdog timeout' ||
		{ note "the journal does not say 'Watchdog timeout'"; return 1; }
	until_ms 30000 connected || { note "not connected after the restart"; return 1; }
	# Back to the unit's 30 s for the next process: a short watchdog on a slow
	# emulated machine must not decide the other scenarios.
	rm -f "$UNIT_DROPIN/50-vm-watchdog.conf"
	systemctl daemon-reload
}

scenario_kill9() {
	local pid n
	pid=$(main_pid)
	n=$(prop iotgwd NRestarts)
	kill -9 "$pid"
	until_ms 60000 restarted "$n" "$pid" || { note "not restarted: NRestarts $(prop iotgwd NRestarts)"; return 1; }
	until_ms 30000 connected || { note "not connected after the restart"; return 1; }
}

# A configuration error at start: exit 78 and "failed", not "auto-restart".
scenario_exit78() {
	printf '[gateway]\nno_such_key = 1\n' >/etc/iotgwd/conf.d/80-broken.conf
	restart && { note "start with a broken file succeeded"; rm -f /etc/iotgwd/conf.d/80-broken.conf; return 1; }
	# shellcheck disable=SC2016 # expanded by that shell
	until_ms 20000 sh -c '[ "$(systemctl show -P ActiveState iotgwd)" != activating ]'
	rm -f /etc/iotgwd/conf.d/80-broken.conf
	[ "$(prop iotgwd ExecMainStatus)" = 78 ] || { note "exit status $(prop iotgwd ExecMainStatus)"; return 1; }
	[ "$(prop iotgwd ActiveState)/$(prop iotgwd SubState)" = failed/failed ] ||
		{ note "state $(prop iotgwd ActiveState)/$(prop iotgwd SubState)"; return 1; }
	journalctl -u iotgwd -o cat -n 20 | grep -q '^/etc/iotgwd/conf.d/80-broken.conf:2: ' ||
		{ note "no FILE:LINE in the journal"; return 1; }
	restart || { note "restart with the file fixed failed"; return 1; }
	until_ms 30000 connected || { note "not connected"; return 1; }
}

# systemctl stop: the relay (ON) goes to on_shutdown (off) and says so, then offline.
scenario_stop() {
	local out l_off l_offline
	out=$(mosquitto_rr -V 5 -q 1 -W 20 -t "$BASE/relay/set" -e "$BASE/reply/vm" -m ON 2>&1)
	[ "$out" = '{"entity":"relay","state":"ON"}' ] || { note "relay ON: $out"; return 1; }
	: >"$MQTT_LOG.stop"
	mosquitto_sub -v -t "$BASE/#" >>"$MQTT_LOG.stop" &
	local sub=$!
	until_ms 10000 grep -qxF "$BASE/status online" "$MQTT_LOG.stop"
	systemctl stop iotgwd || { kill "$sub"; note "stop failed"; return 1; }
	until_ms 10000 grep -qxF "$BASE/status offline" "$MQTT_LOG.stop"
	kill "$sub"
	l_off=$(grep -nxF "$BASE/relay/state OFF" "$MQTT_LOG.stop" | tail -n 1 | cut -d: -f1)
	l_offline=$(grep -nxF "$BASE/status offline" "$MQTT_LOG.stop" | tail -n 1 | cut -d: -f1)
	[ -n "$l_offline" ] || { note "no offline: $(cat "$MQTT_LOG.stop")"; return 1; }
	if [ -z "$l_off" ] || [ "$l_off" -gt "$l_offline" ]; then
		note "relay not OFF before offline: $(cat "$MQTT_LOG.stop")"
		return 1
	fi
	[ "$(prop iotgwd ActiveState)" = inactive ] || { note "state $(prop iotgwd ActiveState)"; return 1; }
	[ "$(prop iotgwd Result)" = success ] || { note "result $(prop iotgwd Result)"; return 1; }
}

# SystemCallLog=: the whole life of the daemon (start, commands, reload, stop)
# with the filter off and every call the filter would deny logged by the kernel
# (audit type 1326); then a positive control shows the logging works.
SYSLOG_PROPS=(-p 'SystemCallFilter=' -p 'SystemCallLog=~@system-service' -p 'SystemCallLog=@privileged @resources')

# seccomp_lines SINCE: what the kernel logged (audit type 1326, SECCOMP) since
# then, through printk or, with journald's audit socket, as audit records.
seccomp_lines() {
	journalctl -k --since "$1" -o cat --no-pager | grep 'type=1326' || true
	journalctl _TRANSPORT=audit --since "$1" -o cat --no-pager | grep 'type=1326\|SECCOMP' || true
}

control_logged() {
	seccomp_lines "$1" 2>/dev/null | grep -q 'comm="nice"'
}

scenario_syscall_log() {
	local since out
	mkdir -p "$UNIT_DROPIN"
	printf '[Service]\nSystemCallFilter=\nSystemCallLog=~@system-service\nSystemCallLog=@privileged @resources\n' \
		>"$UNIT_DROPIN/60-vm-syscall-log.conf"
	systemctl daemon-reload
	# An empty filter shows as "~" (a deny list of nothing).
	case $(prop iotgwd SystemCallFilter) in
	''|'~') ;;
	*) note "SystemCallFilter=$(prop iotgwd SystemCallFilter)"; return 1 ;;
	esac
	since=$(date '+%Y-%m-%d %H:%M:%S')
	restart || { note "start failed"; return 1; }
	until_ms 30000 connected || { note "not connected"; return 1; }
	mosquitto_rr -V 5 -q 1 -W 20 -t "$BASE/relay/set" -e "$BASE/reply/vm" -m TOGGLE >/dev/null 2>&1 ||
		{ note "no reply to TOGGLE"; return 1; }
	mosquitto_rr -V 5 -q 1 -W 20 -t "$BASE/stats/get" -e "$BASE/reply/vm" -m '' >/dev/null 2>&1 ||
		{ note "no reply to stats/get"; return 1; }
	mosquitto_pub -t "$BASE/nosuch/set" -m ON
	systemctl kill -s USR1 iotgwd
	systemctl reload iotgwd || { note "reload failed"; return 1; }
	mosquitto_rr -V 5 -q 1 -W 20 -t "$BASE/lamp/get" -e "$BASE/reply/vm" -m '' >/dev/null 2>&1 ||
		{ note "no reply to lamp/get after the reload"; return 1; }
	systemctl stop iotgwd || { note "stop failed"; return 1; }
	out=$(seccomp_lines "$since")
	rm -f "$UNIT_DROPIN/60-vm-syscall-log.conf"
	systemctl daemon-reload
	[ -z "$out" ] || { note "logged system calls: $out"; return 1; }
	# Positive control: nice(1) calls setpriority, which @resources holds.
	systemd-run --wait --quiet -p User=iotgwd "${SYSLOG_PROPS[@]}" nice -n 5 true ||
		{ note "the control did not run"; return 1; }
	until_ms 10000 control_logged "$since" || { note "the control's setpriority was not logged"; return 1; }
	restart || { note "start after the scenario failed"; return 1; }
	until_ms 30000 connected || { note "not connected"; return 1; }
}

scenario_purge() {
	systemctl stop iotgwd
	rm -f /etc/iotgwd/conf.d/*.conf
	rm -rf "$UNIT_DROPIN"
	systemctl daemon-reload
	[ -d /var/lib/iotgwd ] || { note "no /var/lib/iotgwd"; return 1; }
	touch /var/lib/iotgwd/user-file
	apt-get remove -y -q iotgwd >/tmp/apt.log 2>&1 || { note "remove: $(tail -n 5 /tmp/apt.log)"; return 1; }
	[ -f /etc/iotgwd/iotgwd.conf ] || { note "remove took /etc/iotgwd/iotgwd.conf"; return 1; }
	[ -f /var/lib/iotgwd/user-file ] || { note "remove took /var/lib/iotgwd"; return 1; }
	[ ! -e /usr/sbin/iotgwd ] || { note "remove left /usr/sbin/iotgwd"; return 1; }
	apt-get purge -y -q iotgwd >/tmp/apt.log 2>&1 || { note "purge: $(tail -n 5 /tmp/apt.log)"; return 1; }
	[ ! -e /var/lib/iotgwd ] || { note "purge left /var/lib/iotgwd"; return 1; }
	[ ! -e /etc/iotgwd ] || { note "purge left $(find /etc/iotgwd)"; return 1; }
	if dpkg-query -W -f='${db:Status-Status}\n' iotgwd 2>/dev/null | grep -qvx not-installed; then
		note "still known to dpkg: $(dpkg -l iotgwd 2>&1 | tail -n 1)"
		return 1
	fi
}

echo "vm-systemd: $(uname -r), systemd $(systemctl --version | head -n 1 | cut -d' ' -f2)"
run install
# O_APPEND, so that a scenario may empty the file under the running subscriber.
mosquitto_sub -v -t "$BASE/#" >>"$MQTT_LOG" 2>/dev/null &
run user
run default_start
run after_mosquitto
run sandbox
run udev_i2c
run i2c_sandbox
run udev_gpio
run gpio_sandbox
run gpio_denied
run sim_start
run commands
run journal_start
run journal_warning
run journal_fields_once
run reload_good
run reload_bad
run watchdog
run kill9
run exit78
run stop
run syscall_log
run purge

journalctl -b --no-pager -o short-monotonic >"$D/journal.txt" 2>&1
say "vm-systemd: $passed passed, $failed failed"
sync

#!/bin/sh
# SPDX-License-Identifier: MIT
# /init of the test VM (tests/vm/run.sh packs it): mounts the kernel's file
# systems, creates the simulated hardware (two gpio-sim chips through configfs,
# i2c-stub at the BME280's and the ADS1115's addresses), starts a mosquitto broker on loopback and
# runs the scenarios of /vm/scenarios.sh against the real iotgwd with
# hal = gpiod. Every scenario prints one line on the console, "ok N - NAME" or
# "FAIL N - NAME" followed by what it saw; the last line is
# "vm: N passed, M failed", and the VM then leaves through the isa-debug-exit
# port (0 when all passed, 1 otherwise).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
HOME=/root
export PATH HOME

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t configfs configfs /sys/kernel/config
ip link set lo up

# Leaves the VM: isa-debug-exit turns the byte written to port 0xf4 into QEMU's
# exit status (byte * 2 + 1). Rebooting (QEMU runs with -no-reboot) is the
# fallback should /dev/port be missing; the host then sees exit status 0.
vm_exit() {
	sync
	if [ "$1" -eq 0 ]; then
		printf '\000' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
	else
		printf '\001' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
	fi
	reboot -f
}

die() {
	echo "vm: setup failed: $*"
	echo "vm: 0 passed, 1 failed"
	vm_exit 1
}

MQTT_PORT=1883

# ---- helpers for the scenarios -------------------------------------------

now_ms() {
	# Monotonic enough for timeouts: /proc/uptime in hundredths of a second.
	read -r up _ </proc/uptime
	echo $(( ${up%.*} * 1000 + 10 * $(echo "${up#*.}" | sed 's/^0*//;s/^$/0/') ))
}

# until_ms TIMEOUT_MS CMD...: run CMD until it succeeds or TIMEOUT_MS passed.
until_ms() {
	_end=$(( $(now_ms) + $1 ))
	shift
	while :; do
		"$@" && return 0
		[ "$(now_ms)" -lt "$_end" ] || return 1
		usleep 20000
	done
}

# sim_dir CHIP OFFSET: the sysfs directory of a simulated line (CHIP: a or b).
sim_dir() {
	eval "echo /sys/devices/platform/\$SIM_${1}_DEV/\$SIM_${1}_CHIP/sim_gpio$2"
}

sim_value() {
	cat "$(sim_dir "$1" "$2")/value"
}

sim_pull_get() {
	cat "$(sim_dir "$1" "$2")/pull"
}

# sim_pull CHIP OFFSET pull-up|pull-down: what drives a simulated input.
sim_pull() {
	echo "$3" >"$(sim_dir "$1" "$2")/pull"
}

value_is() {
	[ "$(sim_value "$1" "$2")" = "$3" ]
}

# wait_value CHIP OFFSET VALUE [TIMEOUT_MS]
wait_value() {
	until_ms "${4:-10000}" value_is "$1" "$2" "$3" && return 0
	echo "line $1/$2: value $(sim_value "$1" "$2"), expected $3"
	return 1
}

# The libgpiod tools changed their command line in 2.0.
gpiod_major() {
	gpioinfo --version 2>/dev/null | sed -n '1s/.* v\([0-9]*\)\..*/\1/p'
}

# line_info CHIPNAME OFFSET: gpioinfo's line for one offset.
line_info() {
	if [ "$GPIOD_MAJOR" -ge 2 ]; then
		gpioinfo -c "$1" | grep "line *$2:"
	else
		gpioinfo "$1" | grep "line *$2:"
	fi
}

# line_used_by CHIPNAME OFFSET CONSUMER: v1 quotes the consumer; v2 writes
# consumer=NAME, quoted only when the line has a name.
line_used_by() {
	line_info "$1" "$2" | grep -q -e "\"$3\"" -e "consumer=$3\$" -e "consumer=$3[[:space:]]"
}

# line_bias CHIPNAME OFFSET: the bias the kernel reports for the line:
# pull-up, pull-down, disabled or as-is (none set).
line_bias() {
	case " $(line_info "$1" "$2" | tr '[]' '  ') " in
	*" bias=pull-up "* | *" pull-up "*) echo pull-up ;;
	*" bias=pull-down "* | *" pull-down "*) echo pull-down ;;
	*" bias=disabled "* | *" bias-disabled "*) echo disabled ;;
	*) echo as-is ;;
	esac
}

# line_free CHIPNAME OFFSET: another consumer can request the line now.
line_free() {
	if [ "$GPIOD_MAJOR" -ge 2 ]; then
		gpioget -c "$1" "$2" >/dev/null
	else
		gpioget "$1" "$2" >/dev/null
	fi
}

# hold_line CHIPNAME OFFSET VALUE: gpioset keeps the line until it is killed;
# its pid is left in $HOLD_PID.
hold_line() {
	if [ "$GPIOD_MAJOR" -ge 2 ]; then
		gpioset -c "$1" "$2=$3" &
	else
		gpioset --mode=signal "$1" "$2=$3" &
	fi
	HOLD_PID=$!
	echo "$HOLD_PID" >>/tmp/vm-pids
}

# retained TOPIC: the retained message of TOPIC, empty when there is none.
retained() {
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$1" -C 1 -W 1 2>/dev/null
}

retained_is() {
	[ "$(retained "$1")" = "$2" ]
}

# wait_state TOPIC PAYLOAD [TIMEOUT_MS]
wait_state() {
	until_ms "${3:-15000}" retained_is "$1" "$2" && return 0
	echo "$1: '$(retained "$1")', expected '$2'"
	return 1
}

publish() {
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t "$1" -m "$2"
}

# record TOPIC FILE: every message of TOPIC from now on (not the retained one)
# goes to FILE as "TOPIC PAYLOAD" lines, until stop_record. It returns once the
# subscription is in place: the same client also subscribes to a probe topic
# (after TOPIC), and a probe message has come back.
record() {
	REC_FILE=$2
	: >"$REC_FILE"
	mosquitto_sub -h 127.0.0.1 -p "$MQTT_PORT" -t "$1" -t vm/probe -v -R >"$REC_FILE" 2>/dev/null &
	REC_PID=$!
	echo "$REC_PID" >>/tmp/vm-pids
	until_ms 10000 probe_seen && return 0
	echo "the recording subscriber to $1 did not start"
	return 1
}

probe_seen() {
	publish vm/probe x
	grep -q '^vm/probe ' "$REC_FILE"
}

stop_record() {
	kill "$REC_PID" 2>/dev/null
	wait "$REC_PID" 2>/dev/null
	grep -v '^vm/probe ' "$REC_FILE" >"$REC_FILE.tmp"
	mv "$REC_FILE.tmp" "$REC_FILE"
}

# recorded_has TOPIC PAYLOAD
recorded_has() {
	grep -qx -- "$1 $2" "$REC_FILE"
}

lines_in() {
	wc -l <"$1" | tr -d ' '
}

# alive PID: the process runs (a zombie does not count).
alive() {
	[ -r "/proc/$1/stat" ] || return 1
	read -r _ _ _st _ <"/proc/$1/stat" 2>/dev/null || return 1
	[ "$_st" != Z ]
}

dead() {
	! alive "$1"
}

# start_daemon NAME: run iotgwd on /tmp/NAME.conf (written by the scenario),
# logging to /tmp/NAME.log; its pid is left in $DAEMON_PID.
start_daemon() {
	DAEMON_LOG=/tmp/$1.log
	iotgwd --config "/tmp/$1.conf" --log-level debug >"$DAEMON_LOG" 2>&1 &
	DAEMON_PID=$!
	echo "$DAEMON_PID" >>/tmp/vm-pids
}

# gateway NAME: the [gateway] and [mqtt] sections every scenario starts with.
gateway() {
	cat <<EOF
[gateway]
name = $1
hal = gpiod
discovery = none
stats_interval = 1h

[mqtt]
host = 127.0.0.1
port = $MQTT_PORT
EOF
}

# stop_daemon: SIGTERM, then wait for the exit; sets $DAEMON_STATUS.
stop_daemon() {
	kill -TERM "$DAEMON_PID" 2>/dev/null
	if ! until_ms 15000 dead "$DAEMON_PID"; then
		echo "iotgwd (pid $DAEMON_PID) still running 15 s after SIGTERM"
		kill -KILL "$DAEMON_PID" 2>/dev/null
	fi
	wait "$DAEMON_PID"
	DAEMON_STATUS=$?
}

log_has() {
	grep -q -- "$1" "$DAEMON_LOG"
}

# wait_log TEXT [TIMEOUT_MS]
wait_log() {
	until_ms "${2:-10000}" log_has "$1" && return 0
	echo "iotgwd log has no line with: $1"
	return 1
}

# ---- the simulated hardware ----------------------------------------------

GPIOD_MAJOR=$(gpiod_major)
[ -n "$GPIOD_MAJOR" ] || die "gpioinfo --version says nothing"

# sim_chip NAME LABEL NUM_LINES [OFFSET=LINENAME...]: a gpio-sim device with one
# bank; sets SIM_<NAME>_DEV (gpio-sim.N) and SIM_<NAME>_CHIP (gpiochipN).
sim_chip() {
	_d=/sys/kernel/config/gpio-sim/$1
	mkdir "$_d" "$_d/bank0" || die "cannot create gpio-sim chip $1"
	[ -z "$2" ] || echo "$2" >"$_d/bank0/label"
	echo "$3" >"$_d/bank0/num_lines"
	_n=$1
	shift 3
	for _l in "$@"; do
		mkdir "$_d/bank0/line${_l%%=*}"
		echo "${_l#*=}" >"$_d/bank0/line${_l%%=*}/name"
	done
	echo 1 >"$_d/live" || die "gpio-sim chip $_n does not go live"
	eval "SIM_${_n}_DEV=\$(cat \$_d/dev_name)"
	eval "SIM_${_n}_CHIP=\$(cat \$_d/bank0/chip_name)"
}

# Chip a: labelled, with Raspberry Pi style line names; chip b: no label, so
# the kernel calls it "<dev_name>-node0".
sim_chip a iotgwd-vm-a 32 4=GPIO4 5=GPIO5 6=GPIO6 17=GPIO17 22=GPIO22 23=GPIO23 24=GPIO24 25=GPIO25 27=GPIO27
sim_chip b "" 8

# stub_load ADDRESSES: i2c-stub with a chip at each address (comma-separated);
# sets I2C_BUS to its adapter's number. The scenarios use it too.
stub_load() {
	insmod /lib/modules/i2c-stub.ko chip_addr="$1" || return 1
	for _a in /sys/class/i2c-dev/i2c-*; do
		if grep -q "SMBus stub" "$_a/name" 2>/dev/null; then
			I2C_BUS=${_a##*/i2c-}
			return 0
		fi
	done
	echo "no i2c-dev node for i2c-stub"
	return 1
}
# The BME280 at 0x76 and the ADS1115 at 0x48.
I2C_STUB_ADDRESSES=0x76,0x48
stub_load "$I2C_STUB_ADDRESSES" || die "cannot load i2c-stub"

cat >/tmp/mosquitto.conf <<EOF
listener $MQTT_PORT 127.0.0.1
allow_anonymous true
persistence false
user root
log_dest file /tmp/mosquitto.log
EOF
mosquitto -c /tmp/mosquitto.conf >/tmp/mosquitto.out 2>&1 &
BROKER_PID=$!
broker_up() {
	mosquitto_pub -h 127.0.0.1 -p "$MQTT_PORT" -t vm/ping -m up 2>/dev/null
}
until_ms 20000 broker_up || die "mosquitto does not accept connections"

echo "vm: kernel $(uname -r), libgpiod tools v$GPIOD_MAJOR ($vm_userland userland)," \
	"chips a=$SIM_a_CHIP ($SIM_a_DEV), b=$SIM_b_CHIP ($SIM_b_DEV), i2c-stub on /dev/i2c-$I2C_BUS"

# ---- running the scenarios -----------------------------------------------

passed=0
failed=0
n=0

cleanup_scenario() {
	if [ -f /tmp/vm-pids ]; then
		while read -r _p; do
			kill -KILL "$_p" 2>/dev/null
		done </tmp/vm-pids
		rm -f /tmp/vm-pids
	fi
}

# run NAME: one scenario, the function scenario_NAME, in a subshell bounded to
# 120 s; its output is shown only when it fails, with the tail of the iotgwd
# log it wrote. vm_trace=1 on the kernel command line traces the scenarios.
run() {
	n=$((n + 1))
	(
		[ "${vm_trace:-0}" != 0 ] && set -x
		"scenario_$1"
	) >/tmp/scenario.out 2>&1 &
	_pid=$!
	if until_ms 120000 dead "$_pid"; then
		wait "$_pid"
		_r=$?
	else
		kill -KILL "$_pid" 2>/dev/null
		wait "$_pid" 2>/dev/null
		echo "scenario $1 still running after 120 s, killed" >>/tmp/scenario.out
		_r=1
	fi
	cleanup_scenario
	if [ $_r -eq 0 ]; then
		passed=$((passed + 1))
		echo "ok $n - $1"
		if [ "${vm_trace:-0}" != 0 ]; then
			grep -v '^+' /tmp/scenario.out | sed 's/^/#   /'
			[ ! -f "/tmp/$1.log" ] || sed 's/^/#   /' "/tmp/$1.log"
		fi
	else
		failed=$((failed + 1))
		echo "FAIL $n - $1"
		sed 's/^/#   /' /tmp/scenario.out | tail -n 60
		if [ -f "/tmp/$1.log" ]; then
			echo "#   ---- tail of the iotgwd log"
			tail -n 30 "/tmp/$1.log" | sed 's/^/#   /'
		fi
	fi
}

[ "${vm_trace:-0}" = 2 ] && set -x
# shellcheck source=tests/vm/scenarios.sh
. /vm/scenarios.sh

# vm_only=NAME,NAME on the kernel command line runs only those;
# vm_known_defects=1 adds the scenarios of what does not work yet.
[ "${vm_known_defects:-0}" = 1 ] && SCENARIOS="$SCENARIOS $SCENARIOS_KNOWN_DEFECTS"
for s in $SCENARIOS; do
	case ",${vm_only:-$s}," in
	*",$s,"*) run "$s" ;;
	esac
done

echo "vm: $passed passed, $failed failed"
kill "$BROKER_PID" 2>/dev/null
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ] && vm_exit 0
vm_exit 1

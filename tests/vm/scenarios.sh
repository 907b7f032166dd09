# SPDX-License-Identifier: MIT
# The scenarios of the test VM, sourced by /init (tests/vm/init.sh), which
# provides the helpers and runs every name of $SCENARIOS as scenario_NAME in a
# subshell: it passes when it returns 0. Each one writes its own configuration,
# as a user would, starts its own iotgwd (gateway name = scenario name, so
# retained messages of one never satisfy another) and waits for conditions
# with timeouts.
#
# Simulated lines start with the pull-down gpio-sim gives them; a scenario that
# needs another starting level sets it before the daemon requests the line.

# shellcheck disable=SC2034 # read by init.sh
SCENARIOS="
input_path_offset_pull_up
input_name_line_name_active_low
input_label_as_is
input_default_label_disable
input_debounce
input_edge_rising
input_edge_falling
output_initial
output_commands
output_shutdown_off
output_shutdown_keep
line_busy
line_busy_serves_others
bme280_reading
i2c_missing_device
input_burst
ads1115_reading
i2c_device_appears
"

# What iotgwd should do but does not yet; run only with vm_known_defects=1
# (IOTGWD_VM_KNOWN_DEFECTS=1 for tests/vm/run.sh), not part of the stage.
# shellcheck disable=SC2034 # read by init.sh
SCENARIOS_KNOWN_DEFECTS="
"

# wait_used CHIP OFFSET: until iotgwd holds the simulated line.
wait_used() {
	eval "_chip=\$SIM_${1}_CHIP"
	until_ms 10000 line_used_by "$_chip" "$2" iotgwd && return 0
	echo "line $1/$2 not requested by iotgwd: $(line_info "$_chip" "$2")"
	return 1
}

# expect_bias CHIP OFFSET BIAS: what the kernel says the requester asked for.
expect_bias() {
	eval "_chip=\$SIM_${1}_CHIP"
	_b=$(line_bias "$_chip" "$2")
	[ "$_b" = "$3" ] && return 0
	echo "line $1/$2: bias $_b, expected $3: $(line_info "$_chip" "$2")"
	return 1
}

expect_pull() {
	_p=$(sim_pull_get "$1" "$2")
	[ "$_p" = "$3" ] && return 0
	echo "line $1/$2: pull $_p, expected $3"
	return 1
}

# Chip by path, line by offset, bias = pull-up: the bias is what the simulated
# line sees, and the pull then moves the input.
scenario_input_path_offset_pull_up() {
	g=input_path_offset_pull_up b=iotgw/$g
	sim_pull a 4 pull-down
	{ gateway $g; cat <<EOF

[input door]
chip = /dev/$SIM_a_CHIP
line = 4
bias = pull-up
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_used a 4 || return 1
	expect_bias a 4 pull-up || return 1
	expect_pull a 4 pull-up || return 1
	wait_state $b/door/state ON || return 1
	sim_pull a 4 pull-down
	wait_state $b/door/state OFF || return 1
	sim_pull a 4 pull-up
	wait_state $b/door/state ON || return 1
	stop_daemon
	[ "$DAEMON_STATUS" -eq 0 ] || { echo "exit status $DAEMON_STATUS"; return 1; }
}

# Chip by name (gpiochipN), line by its configfs name, active_low with
# bias = pull-down: a low line is ON.
scenario_input_name_line_name_active_low() {
	g=input_name_line_name_active_low b=iotgw/$g
	sim_pull a 17 pull-up
	{ gateway $g; cat <<EOF

[input contact]
chip = $SIM_a_CHIP
line = GPIO17
active_low = yes
bias = pull-down
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_used a 17 || return 1
	expect_bias a 17 pull-down || return 1
	expect_pull a 17 pull-down || return 1
	wait_value a 17 0 || return 1
	wait_state $b/contact/state ON || return 1
	sim_pull a 17 pull-up
	wait_state $b/contact/state OFF || return 1
	stop_daemon
}

# Chip by its configfs label, bias = as-is: the pull set before stays.
scenario_input_label_as_is() {
	g=input_label_as_is b=iotgw/$g
	sim_pull a 22 pull-up
	{ gateway $g; cat <<EOF

[input window]
chip = iotgwd-vm-a
line = GPIO22
bias = as-is
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_used a 22 || return 1
	expect_bias a 22 as-is || return 1
	expect_pull a 22 pull-up || return 1
	wait_state $b/window/state ON || return 1
	sim_pull a 22 pull-down
	wait_state $b/window/state OFF || return 1
	stop_daemon
}

# Chip b has no label: the kernel's "<dev_name>-node0" finds it. The kernel
# records bias = disable on the line, but gpio-sim has no "no pull" state (it
# refuses the setting, which gpiolib then ignores), so the simulated pull stays
# as it was and still moves the input.
scenario_input_default_label_disable() {
	g=input_default_label_disable b=iotgw/$g
	sim_pull b 3 pull-up
	{ gateway $g; cat <<EOF

[input motion]
chip = $SIM_b_DEV-node0
line = 3
bias = disable
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_used b 3 || return 1
	expect_bias b 3 disabled || return 1
	expect_pull b 3 pull-up || return 1
	wait_state $b/motion/state ON || return 1
	sim_pull b 3 pull-down
	wait_state $b/motion/state OFF || return 1
	stop_daemon
}

# One burst of bounces, all within debounce_ms, gives one change. The reply to
# a "get" sent after the change marks the end of what the burst produced: the
# state topic then holds exactly the change and the reply. A burst that took
# longer than debounce_ms (a stalled VM) proves nothing and is tried again.
bounce_burst() {
	# Ends high, from low: seven transitions.
	sim_pull a 23 pull-up; sim_pull a 23 pull-down; sim_pull a 23 pull-up
	sim_pull a 23 pull-down; sim_pull a 23 pull-up; sim_pull a 23 pull-down
	sim_pull a 23 pull-up
}

scenario_input_debounce() {
	g=input_debounce b=iotgw/$g
	sim_pull a 23 pull-down
	{ gateway $g; cat <<EOF

[input button]
chip = $SIM_a_CHIP
line = GPIO23
debounce_ms = 500
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_used a 23 || return 1
	wait_state $b/button/state OFF || return 1
	for try in 1 2 3; do
		record $b/button/state /tmp/$g.rec || return 1
		t0=$(now_ms)
		bounce_burst
		took=$(( $(now_ms) - t0 ))
		wait_state $b/button/state ON || return 1
		publish $b/button/get x
		until_ms 10000 recorded_has_n 2
		stop_record
		if [ "$took" -ge 400 ]; then
			echo "try $try: the burst took ${took} ms, longer than the debounce time; again"
			sim_pull a 23 pull-down
			wait_state $b/button/state OFF || return 1
			continue
		fi
		if [ "$(cat /tmp/$g.rec)" != "$(printf '%s\n%s' "$b/button/state ON" "$b/button/state ON")" ]; then
			echo "a burst of 7 bounces (${took} ms) gave, up to the reply to get:"
			cat /tmp/$g.rec
			return 1
		fi
		stop_daemon
		return 0
	done
	echo "no burst completed within the debounce time"
	return 1
}

recorded_has_n() {
	[ "$(grep -vc '^vm/probe ' "$REC_FILE")" -ge "$1" ]
}

# edge = rising (falling): only changes to ON (OFF) are published. Of three
# changes, the middle one goes the other way: the two published states follow
# each other with nothing between them (events go out in order).
edge_only() {
	g=$1 b=iotgw/$1 edge=$2 off=$3
	sim_pull a 24 pull-down
	{ gateway "$g"; cat <<EOF

[input pir]
chip = $SIM_a_CHIP
line = GPIO24
edge = $edge
EOF
	} >"/tmp/$g.conf"
	start_daemon "$g"
	wait_used a 24 || return 1
	if [ "$edge" = falling ]; then
		sim_pull a 24 pull-up
		wait_value a 24 1 || return 1
	fi
	record "$b/pir/state" "/tmp/$g.rec" || return 1
	if [ "$edge" = rising ]; then
		sim_pull a 24 pull-up; sim_pull a 24 pull-down; sim_pull a 24 pull-up
		want=ON
	else
		sim_pull a 24 pull-down; sim_pull a 24 pull-up; sim_pull a 24 pull-down
		want=OFF
	fi
	until_ms 10000 recorded_has_n 2
	stop_record
	if [ "$(cat "/tmp/$g.rec")" != "$(printf '%s\n%s' "$b/pir/state $want" "$b/pir/state $want")" ]; then
		echo "edge = $edge: three changes, the middle one to $off, published:"
		cat "/tmp/$g.rec"
		return 1
	fi
	stop_daemon
}

scenario_input_edge_rising() {
	edge_only input_edge_rising rising OFF
}

scenario_input_edge_falling() {
	edge_only input_edge_falling falling ON
}

# initial = on: the line is high from the moment iotgwd holds it (checked at
# the first sight of the request), and with active_low the line is low.
scenario_output_initial() {
	g=output_initial b=iotgw/$g
	sim_pull a 24 pull-down
	sim_pull a 25 pull-up
	{ gateway $g; cat <<EOF

[output relay]
chip = $SIM_a_CHIP
line = GPIO24
initial = on

[output inverted]
chip = $SIM_a_CHIP
line = GPIO25
active_low = yes
initial = on
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_used a 24 || return 1
	value_is a 24 1 || { echo "GPIO24 held by iotgwd but low"; return 1; }
	wait_used a 25 || return 1
	value_is a 25 0 || { echo "GPIO25 (active low) held by iotgwd but high"; return 1; }
	wait_state $b/relay/state ON || return 1
	wait_state $b/inverted/state ON || return 1
	stop_daemon
}

# ON, OFF, TOGGLE and a pulse, seen on the simulated line.
scenario_output_commands() {
	g=output_commands b=iotgw/$g
	{ gateway $g; cat <<EOF

[output lamp]
chip = $SIM_a_CHIP
line = 27
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_used a 27 || return 1
	wait_state $b/lamp/state OFF || return 1
	value_is a 27 0 || { echo "initial = off (default) but the line is high"; return 1; }
	publish $b/lamp/set ON
	wait_value a 27 1 || return 1
	wait_state $b/lamp/state ON || return 1
	publish $b/lamp/set OFF
	wait_value a 27 0 || return 1
	wait_state $b/lamp/state OFF || return 1
	publish $b/lamp/set TOGGLE
	wait_value a 27 1 || return 1
	wait_state $b/lamp/state ON || return 1
	publish $b/lamp/set TOGGLE
	wait_value a 27 0 || return 1
	wait_state $b/lamp/state OFF || return 1
	record $b/lamp/state /tmp/$g.rec || return 1
	publish $b/lamp/set '{"state":"ON","pulse_ms":3000}'
	wait_value a 27 1 3000 || { echo "pulse: the line never went high"; return 1; }
	wait_value a 27 0 10000 || { echo "pulse: the line did not go back low"; return 1; }
	until_ms 10000 recorded_has_n 2
	stop_record
	if [ "$(cat /tmp/$g.rec)" != "$(printf '%s\n%s' "$b/lamp/state ON" "$b/lamp/state OFF")" ]; then
		echo "pulse: states published:"
		cat /tmp/$g.rec
		return 1
	fi
	stop_daemon
	[ "$DAEMON_STATUS" -eq 0 ] || { echo "exit status $DAEMON_STATUS"; return 1; }
}

# shutdown_run GATEWAY ENTITY LINE ON_SHUTDOWN EXPECTED: an output with initial =
# on on chip a's GPIO<LINE>, then SIGTERM; what it publishes under its base topic
# until "offline" must be EXPECTED (lines "TOPIC PAYLOAD"), its exit status 0, and the
# line free afterwards. (gpio-sim drops a released line to its pull, so the level
# after the exit proves nothing.)
shutdown_run() {
	g=$1 b=iotgw/$1
	{ gateway $g; cat <<EOF

[output $2]
chip = $SIM_a_CHIP
line = GPIO$3
initial = on
on_shutdown = $4
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_used a "$3" || return 1
	wait_state $b/$2/state ON || return 1
	wait_state $b/status online || return 1
	record "$b/#" /tmp/$g.rec || return 1
	stop_daemon
	[ "$DAEMON_STATUS" -eq 0 ] || { echo "exit status $DAEMON_STATUS"; return 1; }
	until_ms 5000 recorded_has "$b/status" offline
	stop_record
	if [ "$(cat /tmp/$g.rec)" != "$5" ]; then
		echo "published on SIGTERM:"
		cat /tmp/$g.rec
		return 1
	fi
	line_free "$SIM_a_CHIP" "$3" || { echo "line $3 not free after iotgwd exited"; return 1; }
}

# on_shutdown = off: SIGTERM switches the output off and says so before "offline".
scenario_output_shutdown_off() {
	b=iotgw/output_shutdown_off
	shutdown_run output_shutdown_off heater 5 off \
		"$(printf '%s\n%s' "$b/heater/state OFF" "$b/status offline")" || return 1
	wait_state $b/heater/state OFF
}

# on_shutdown = keep: no OFF on SIGTERM, the retained state stays ON.
scenario_output_shutdown_keep() {
	b=iotgw/output_shutdown_keep
	shutdown_run output_shutdown_keep pump 6 keep "$b/status offline" || return 1
	retained_is $b/pump/state ON || { echo "retained state: $(retained $b/pump/state)"; return 1; }
}

# A line held by gpioset: the error names the consumer.
scenario_line_busy() {
	g=line_busy b=iotgw/$g
	hold_line "$SIM_b_CHIP" 5 1
	until_ms 10000 line_used_by "$SIM_b_CHIP" 5 gpioset ||
		{ echo "gpioset did not take line 5: $(line_info "$SIM_b_CHIP" 5)"; return 1; }
	{ gateway $g; cat <<EOF

[input door]
chip = $SIM_a_CHIP
line = GPIO4

[output siren]
chip = $SIM_b_CHIP
line = 5
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_log "siren: GPIO line 5 (offset 5) of chip $SIM_b_CHIP is in use by \"gpioset\"" || return 1
	line_used_by "$SIM_b_CHIP" 5 gpioset || { echo "gpioset lost line 5"; return 1; }
	stop_daemon
}

# A line held by another consumer at start costs that entity only: the daemon
# stays up and serves the others, and takes the line once it is free.
scenario_line_busy_serves_others() {
	g=line_busy_serves_others b=iotgw/$g
	sim_pull a 4 pull-up
	hold_line "$SIM_b_CHIP" 5 1
	until_ms 10000 line_used_by "$SIM_b_CHIP" 5 gpioset ||
		{ echo "gpioset did not take line 5: $(line_info "$SIM_b_CHIP" 5)"; return 1; }
	{ gateway $g; cat <<EOF

[input door]
chip = $SIM_a_CHIP
line = GPIO4

[output siren]
chip = $SIM_b_CHIP
line = 5
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_log "is in use by \"gpioset\"" || return 1
	wait_state $b/door/state ON || return 1
	alive "$DAEMON_PID" || { echo "iotgwd exited"; return 1; }
	sim_pull a 4 pull-down
	wait_state $b/door/state OFF || return 1
	[ -z "$(retained $b/siren/state)" ] || { echo "a state for a line it does not hold"; return 1; }
	kill "$HOLD_PID"
	wait "$HOLD_PID" 2>/dev/null
	wait_log "output siren: line 5 of chip $SIM_b_CHIP requested after" 60000 || return 1
	wait_state $b/siren/state OFF || return 1
	line_used_by "$SIM_b_CHIP" 5 iotgwd || { echo "line 5: $(line_info "$SIM_b_CHIP" 5)"; return 1; }
	stop_daemon
}

# The BME280's registers in i2c-stub at ADDRESS (default 0x76): the
# calibration words of the BMP280 datasheet's worked example (section 3.12)
# with typical humidity trimming, that example's raw temperature and pressure
# (adc_T = 519888, adc_P = 415148) with adc_H = 30000, and the chip id last, so
# that a daemon opening the device meanwhile never takes a half-written
# calibration for a BME280's. The datasheet's floating-point formulas (BME280
# 8.1) give 25.08 degC and 1006.53 hPa, and 55.25 %RH.
bme280_preload() {
	_addr=${1:-0x76}
	set -- \
		0xf3 0x00 \
		0x88 0x70 0x89 0x6b  0x8a 0x43 0x8b 0x67  0x8c 0x18 0x8d 0xfc \
		0x8e 0x7d 0x8f 0x8e  0x90 0x43 0x91 0xd6  0x92 0xd0 0x93 0x0b \
		0x94 0x27 0x95 0x0b  0x96 0x8c 0x97 0x00  0x98 0xf9 0x99 0xff \
		0x9a 0x8c 0x9b 0x3c  0x9c 0xf8 0x9d 0xc6  0x9e 0x70 0x9f 0x17 \
		0xa1 0x4b \
		0xe1 0x6a 0xe2 0x01  0xe3 0x07  0xe4 0x13 0xe5 0x21 0xe6 0x03 0xe7 0xe2 \
		0xf7 0x65 0xf8 0x5a 0xf9 0xc0  0xfa 0x7e 0xfb 0xed 0xfc 0x00 \
		0xfd 0x75 0xfe 0x30 \
		0xd0 0x60
	while [ $# -ge 2 ]; do
		i2cset -y "$I2C_BUS" "$_addr" "$1" "$2" b || return 1
		shift 2
	done
}

# near VALUE EXPECTED TOLERANCE
near() {
	awk -v v="$1" -v e="$2" -v t="$3" 'BEGIN { d = v - e; if (d < 0) d = -d; exit !(v != "" && d <= t) }'
}

json_number() {
	echo "$1" | sed -n "s/.*\"$2\":\([-0-9.]*\).*/\1/p"
}

scenario_bme280_reading() {
	g=bme280_reading b=iotgw/$g
	bme280_preload || { echo "cannot preload the BME280 registers"; return 1; }
	{ gateway $g; cat <<EOF

[sensor climate]
driver = bme280
bus = /dev/i2c-$I2C_BUS
address = 0x76
interval = 2s
EOF
	} >/tmp/$g.conf
	start_daemon $g
	until_ms 20000 has_retained $b/climate/state || { echo "no reading published"; return 1; }
	j=$(retained $b/climate/state)
	t=$(json_number "$j" temperature) h=$(json_number "$j" humidity) p=$(json_number "$j" pressure)
	if ! near "$t" 25.08 0.01 || ! near "$h" 55.25 0.1 || ! near "$p" 1006.53 0.01; then
		echo "reading $j, expected temperature 25.08, humidity 55.3, pressure 1006.53"
		return 1
	fi
	stop_daemon
}

has_retained() {
	[ -n "$(retained "$1")" ]
}

# Nothing answers at 0x77 on the bus: the sensor's error is logged as
# documented, and the daemon goes on.
scenario_i2c_missing_device() {
	g=i2c_missing_device b=iotgw/$g
	{ gateway $g; cat <<EOF

[sensor gone]
driver = bme280
bus = /dev/i2c-$I2C_BUS
address = 0x77
interval = 2s
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_log "sensor gone (bme280): opening the device failed: No such device (1 in a row)" || return 1
	wait_state $b/status online || return 1
	alive "$DAEMON_PID" || { echo "iotgwd exited"; return 1; }
	stop_daemon
}

# json_field JSON FIELD: an unsigned counter of a JSON object.
json_field() {
	echo "$1" | sed -n "s/.*\"$2\":\([0-9]*\).*/\1/p"
}

# The stats object last recorded and the states of flap recorded so far
# account for every edge of the bursts ($burst_edges); on v1, a stats object
# has been recorded.
burst_accounted() {
	publish "$b/stats/get" x
	_st=$(grep "^$b/stats " "$REC_FILE" | tail -n 1)
	_st=${_st#* }
	[ -n "$_st" ] || return 1
	burst_lost=$(json_field "$_st" edges_lost)
	burst_dropped=$(json_field "$_st" dropped)
	burst_published=$(grep -c "^$b/flap/state " "$REC_FILE")
	[ -n "$burst_lost" ] || return 1
	# v1 cannot count what it lost: any stats object will do there.
	[ "$GPIOD_MAJOR" -ge 2 ] || return 0
	[ $((burst_published + burst_lost + burst_dropped)) -ge "$burst_edges" ]
}

# burst_pull CHIP OFFSET N: N edges (N even: it ends low) as fast as the
# shell can move gpio-sim's pull; the time taken in $burst_ms.
burst_pull() {
	_pull=$(sim_dir "$1" "$2")/pull
	_t0=$(now_ms)
	_i=0
	while [ $_i -lt $(($3 / 2)) ]; do
		echo pull-up >"$_pull"
		echo pull-down >"$_pull"
		_i=$((_i + 1))
	done
	burst_ms=$(($(now_ms) - _t0))
}

# burst_check EDGES: once the stats and the states recorded account for
# EDGES edges in all, on libgpiod v2 every one of them is either published or
# in edges_lost (and nothing was dropped); on v1 edges_lost is 0. The state
# ends OFF either way.
burst_check() {
	burst_edges=$1
	until_ms 60000 burst_accounted
	echo "$burst_edges edges in all (the last $burst_ms ms): ${burst_published:-?} published," \
		"${burst_lost:-?} edges_lost, ${burst_dropped:-?} dropped"
	alive "$DAEMON_PID" || { echo "iotgwd exited"; return 1; }
	wait_state "$b/flap/state" OFF || return 1
	[ "$burst_dropped" = 0 ] || { echo "messages dropped"; return 1; }
	if [ "$GPIOD_MAJOR" -ge 2 ]; then
		if [ $((burst_published + burst_lost)) -ne "$burst_edges" ]; then
			echo "published + edges_lost is not $burst_edges"
			return 1
		fi
	else
		[ "$burst_lost" = 0 ] || { echo "edges_lost on libgpiod v1"; return 1; }
	fi
}

# 1000 edges as fast as a shell can move gpio-sim's pull, nothing debounced;
# then 1000 more while iotgwd is stopped (SIGSTOP), far more than the kernel's
# event queue (64 events) holds. On libgpiod v2 every edge is either published
# or counted in edges_lost (the kernel numbers its events; a full queue drops
# the oldest and leaves a gap), the loss is logged, and the state ends right.
# v1 events carry no number and its full queue drops the newest: there
# edges_lost stays 0 and the state must still end right.
scenario_input_burst() {
	g=input_burst b=iotgw/$g
	sim_pull b 7 pull-down
	{ gateway $g; cat <<EOF

[input flap]
chip = $SIM_b_CHIP
line = 7
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_used b 7 || return 1
	wait_state $b/flap/state OFF || return 1
	record "$b/#" /tmp/$g.rec || return 1
	burst_pull b 7 1000
	burst_check 1000 || return 1
	lost_before=$burst_lost

	kill -STOP "$DAEMON_PID"
	burst_pull b 7 1000
	kill -CONT "$DAEMON_PID"
	burst_check 2000 || return 1
	stop_record
	if [ "$GPIOD_MAJOR" -ge 2 ]; then
		[ "$burst_lost" -gt "$lost_before" ] ||
			{ echo "no edges lost while iotgwd was stopped"; return 1; }
		wait_log "flap: [0-9]* GPIO edges lost, the kernel's event queue was full" || return 1
	fi
	stop_daemon
	[ "$DAEMON_STATUS" -eq 0 ] || { echo "exit status $DAEMON_STATUS"; return 1; }
}

# The ADS1115 on i2c-stub. Its conversion register holds code 4000h: half of
# +FS (datasheet 9.3.3, Table 3: one LSB is FS / 2^15), 2.048 V with gain =
# 4.096. SMBus words travel low byte first and the chip sends its registers
# high byte first, so i2cset writes the word 0x0040. i2c-stub keeps the config
# word the driver writes: the OS bit the driver sets to start a conversion
# reads back as 1, "not converting", so every conversion is done at once. The
# stub has one conversion register, so all four inputs read the same code.
scenario_ads1115_reading() {
	g=ads1115_reading b=iotgw/$g
	i2cset -y "$I2C_BUS" 0x48 0x00 0x0040 w || { echo "cannot preload the ADS1115"; return 1; }
	{ gateway $g; cat <<EOF

[sensor adc]
driver = ads1115
bus = /dev/i2c-$I2C_BUS
address = 0x48
gain = 4.096
data_rate = 860
interval = 2s
EOF
	} >/tmp/$g.conf
	start_daemon $g
	until_ms 20000 has_retained $b/adc/state || { echo "no reading published"; return 1; }
	j=$(retained $b/adc/state)
	for q in voltage0 voltage1 voltage2 voltage3; do
		near "$(json_number "$j" $q)" 2.048 0.0001 ||
			{ echo "reading $j, expected 2.048 V on every input"; return 1; }
	done
	stop_daemon
}

# A BME280 that is not there at start (no stub chip at 0x77): the documented
# read error, then i2c-stub is loaded again with a chip at 0x77 and the sensor
# is read as soon as the chip is there, without a restart, and the log says so.
# The daemon holds the bus open only while it tries the device, so unloading
# the stub may take a second try.
scenario_i2c_device_appears() {
	g=i2c_device_appears b=iotgw/$g
	bus=$I2C_BUS
	{ gateway $g; cat <<EOF

[sensor late]
driver = bme280
bus = /dev/i2c-$bus
address = 0x77
interval = 1s
EOF
	} >/tmp/$g.conf
	start_daemon $g
	wait_log "sensor late (bme280): opening the device failed: No such device (1 in a row)" ||
		return 1
	until_ms 10000 rmmod i2c-stub 2>/dev/null || { echo "cannot unload i2c-stub"; return 1; }
	stub_load "$I2C_STUB_ADDRESSES,0x77" || { echo "cannot load i2c-stub again"; return 1; }
	[ "$I2C_BUS" = "$bus" ] || { echo "i2c-stub came back as /dev/i2c-$I2C_BUS, not $bus"; return 1; }
	bme280_preload 0x77 || { echo "cannot preload the BME280 registers"; return 1; }
	until_ms 20000 has_retained $b/late/state || { echo "no reading published"; return 1; }
	j=$(retained $b/late/state)
	t=$(json_number "$j" temperature) p=$(json_number "$j" pressure)
	if ! near "$t" 25.08 0.01 || ! near "$p" 1006.53 0.01; then
		echo "reading $j, expected temperature 25.08, pressure 1006.53"
		return 1
	fi
	wait_log "sensor late: reading again after" || return 1
	alive "$DAEMON_PID" || { echo "iotgwd exited"; return 1; }
	stop_daemon
}

/* SPDX-License-Identifier: MIT */
/* Integration tests of SIGHUP: a new configuration applies completely or not at all,
 * lines in use are handed over without being released. */
#include <check.h>
#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "board.h"
#include "macro.h"

static const char *const RELOADED =
        "[gateway]\n"
        "name = t1\n"
        "hal = sim\n"
        "sim_socket = @SIMSOCK@\n"
        "stats_interval = 1h\n"
        "discovery = none\n"
        "[mqtt]\n"
        "host = 127.0.0.1\n"
        "port = @PORT@\n"
        "keepalive = 5\n"
        "[input door]\n"
        "chip = gpiochip0\n"
        "line = GPIO17\n"
        "[input window]\n"
        "chip = gpiochip0\n"
        "line = 6\n"
        "[output relay]\n"
        "chip = gpiochip0\n"
        "line = GPIO27\n"
        "max_pulse_ms = 5000\n";

/* SIGHUP with a good file: new entities appear, unchanged outputs keep their level. */
START_TEST(test_reload_good) {
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));

        ck_assert_int_eq(daemon_write_conf(&daemon_, RELOADED), 0);
        daemon_notify_reset(&daemon_);
        ck_assert_int_eq(daemon_signal(&daemon_, SIGHUP), 0);
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "RELOADING=1", WAIT_MS) == 0);
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "READY=1", WAIT_MS) == 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/window/state", "OFF"));
        sim("get gpiochip0 GPIO27", "1");
        sim("set gpiochip0 6 1", "ok");
        daemon_assert(&daemon_, wait_msg("iotgw/t1/window/state", "ON"));
        /* The removed output is gone: commands to it are errors now. */
        ck_assert_int_eq(publish("iotgw/t1/lamp/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/error", NULL));
}
END_TEST

/* SIGHUP that changes the settings of a line in use: they change in place, the line is
 * never released, and the lamp keeps its state (now active-low: physically low). */
START_TEST(test_reload_changed_line) {
        const char *changed;
        char *text;

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "OFF"));
        changed = strstr(BOARD, "[input bouncy]");
        ck_assert_ptr_nonnull(changed);
        /* The same board with the door debounced and the lamp active-low. */
        ck_assert_int_ge(asprintf(&text, "%.*s%s%s", (int) (changed - BOARD), BOARD,
                                  "debounce_ms = 20\n", changed), 0);
        {
                char *lamp = strstr(text, "initial = on\n");

                ck_assert_ptr_nonnull(lamp);
                ck_assert_int_eq(daemon_write_conf(&daemon_, text), 0);
                ck_assert_int_eq(daemon_write_dropin(&daemon_, "10-lamp.conf",
                                                     "[output lamp]\nactive_low = yes\n"), 0);
        }
        free(text);

        daemon_notify_reset(&daemon_);
        ck_assert_int_eq(daemon_signal(&daemon_, SIGHUP), 0);
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "READY=1", WAIT_MS) == 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "Configuration reloaded: 2 inputs, 2 outputs, 2 sensors", WAIT_MS) == 0);
        daemon_assert(&daemon_, !daemon_log_contains(&daemon_, "Reload incomplete"));

        sim("set gpiochip0 GPIO17 1", "ok");
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "ON"));
        /* The lamp is still ON, now active-low: physically low. */
        sim("get gpiochip1 3", "0");
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        ck_assert_int_eq(publish("iotgw/t1/climate/get", ""), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/climate/state", NULL));
}
END_TEST

/* SIGHUP with a broken file: every error logged with FILE:LINE, the old one keeps running. */
START_TEST(test_reload_bad) {
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        ck_assert_int_eq(daemon_write_conf(&daemon_, "[gateway]\nname = t1\nbogus_key = 1\n[input x]\nchip = c\n"), 0);
        daemon_notify_reset(&daemon_);
        ck_assert_int_eq(daemon_signal(&daemon_, SIGHUP), 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "keeping the running configuration", WAIT_MS) == 0);
        daemon_assert(&daemon_, daemon_log_contains(&daemon_, "iotgwd.conf:3:"));
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "READY=1", WAIT_MS) == 0);
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        sim("set gpiochip0 GPIO17 1", "ok");
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "ON"));
}
END_TEST

/* Renaming an output keeps its line and its state: it is handed over, never released. */
START_TEST(test_reload_rename_keeps_line) {
        char *text;

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));

        text = strdup(BOARD);
        ck_assert_ptr_nonnull(text);
        memcpy(strstr(text, "[output relay]"), "[output pumpy]", strlen("[output pumpy]"));
        ck_assert_int_eq(daemon_write_conf(&daemon_, text), 0);
        free(text);
        ck_assert_int_eq(daemon_signal(&daemon_, SIGHUP), 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "Configuration reloaded: 2 inputs, 2 outputs, 2 sensors", WAIT_MS) == 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/pumpy/state", "ON"));
        sim("get gpiochip0 GPIO27", "1");
        ck_assert_int_eq(test_client_take(client, "iotgw/t1/relay/state", "OFF", NULL), -EAGAIN);
        ck_assert_int_eq(publish("iotgw/t1/pumpy/set", "OFF"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/pumpy/state", "OFF"));
        sim("get gpiochip0 GPIO27", "0");
}
END_TEST

/* A reload that cannot be applied (here a new output on a line the running
 * configuration holds as an input) changes nothing: the relay stays ON, every entity
 * keeps working, systemd hears READY=1, and the journal says why. */
START_TEST(test_reload_fails_changes_nothing) {
        struct test_message *m;

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        drain("iotgw/t1/relay/state");

        /* The door's settings change in place first, then the new output fails: the
         * door must get its old settings back. */
        ck_assert_int_eq(daemon_write_dropin(&daemon_, "10-bad.conf",
                                             "[input door]\nactive_low = yes\n"
                                             "[output siren]\nchip = gpiochip0\nline = 5\n"), 0);
        daemon_notify_reset(&daemon_);
        ck_assert_int_eq(daemon_signal(&daemon_, SIGHUP), 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "Reload failed, keeping the running configuration", WAIT_MS) == 0);
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "READY=1", WAIT_MS) == 0);
        daemon_assert(&daemon_, daemon_log_contains(&daemon_, "output siren: cannot request line 5 of chip gpiochip0"));

        sim("get gpiochip0 GPIO27", "1");
        ck_assert_int_eq(test_client_take(client, "iotgw/t1/relay/state", NULL, NULL), -EAGAIN);
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "TOGGLE"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        /* The door is active-high as before. */
        sim("set gpiochip0 GPIO17 1", "ok");
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "ON"));
        sim("set gpiochip0 5 1", "ok");
        daemon_assert(&daemon_, wait_msg("iotgw/t1/bouncy/state", "ON"));

        /* The broker restarts: every state is published again, nothing crashes. */
        ck_assert_int_eq(test_broker_stop(broker), 0);
        ck_assert_int_eq(test_broker_restart(broker), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        ck_assert_int_eq(publish("iotgw/t1/stats/get", ""), 0);
        m = wait_take(client, "iotgw/t1/stats", NULL);
        daemon_assert(&daemon_, m);
        test_message_free(m);
        ck_assert_int_eq(daemon_signal(&daemon_, 0), 0);
}
END_TEST

/* A reload that adds an entity on a line another program holds changes nothing: the
 * relay, ON before, stays ON and keeps answering; the log names the holder. */
START_TEST(test_reload_line_held_elsewhere) {
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        sim("hold gpiochip0 9 gpioset", "ok");

        ck_assert_int_eq(daemon_write_dropin(&daemon_, "10-fan.conf", "[output fan]\nchip = gpiochip0\nline = 9\n"), 0);
        daemon_notify_reset(&daemon_);
        ck_assert_int_eq(daemon_signal(&daemon_, SIGHUP), 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "Reload failed, keeping the running configuration", WAIT_MS) == 0);
        daemon_assert(&daemon_, daemon_log_contains(&daemon_, "is in use by \"gpioset\""));
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "READY=1", WAIT_MS) == 0);
        sim("get gpiochip0 GPIO27", "1");
        ck_assert_int_eq(publish("iotgw/t1/fan/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/error", NULL));

        /* Once the line is free, the same reload goes through. */
        sim("release gpiochip0 9", "ok");
        ck_assert_int_eq(daemon_signal(&daemon_, SIGHUP), 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "Configuration reloaded: 2 inputs, 3 outputs, 2 sensors", WAIT_MS) == 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/fan/state", "OFF"));
        sim("get gpiochip0 GPIO27", "1");
}
END_TEST

/* A TLS file that cannot be loaded is rejected before anything changes; so is a
 * change of the hardware backend, which needs a restart. */
START_TEST(test_reload_refused) {
        struct test_message *m;

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "online"));
        ck_assert_int_eq(daemon_write_dropin(&daemon_, "10-tls.conf", "[mqtt]\n\ntls_ca_file = /nonexistent/ca.pem\n"), 0);
        ck_assert_int_eq(daemon_signal(&daemon_, SIGHUP), 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "10-tls.conf:3: tls_ca_file '/nonexistent/ca.pem': No such file or directory", WAIT_MS) == 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "keeping the running configuration", WAIT_MS) == 0);

        ck_assert_int_eq(daemon_write_dropin(&daemon_, "10-tls.conf", "[gateway]\nsim_drift = yes\n"), 0);
        daemon_notify_reset(&daemon_);
        ck_assert_int_eq(daemon_signal(&daemon_, SIGHUP), 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "Reload refused: [gateway] hal, sim_socket and sim_drift only change on a restart", WAIT_MS) == 0);
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "READY=1", WAIT_MS) == 0);

        /* The running link and stats still work. */
        ck_assert_int_eq(publish("iotgw/t1/stats/get", ""), 0);
        m = wait_take(client, "iotgw/t1/stats", NULL);
        daemon_assert(&daemon_, m);
        test_message_free(m);
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
}
END_TEST

/* --check opens the TLS files too, so it catches what start-up would reject. */
START_TEST(test_check_tls_files) {
        char *const args[] = { "--check", NULL };
        int status = -1;

        ck_assert_int_eq(daemon_write_dropin(&daemon_, "10-tls.conf", "[mqtt]\ntls_ca_file = /nonexistent/ca.pem\n"), 0);
        ck_assert_int_eq(daemon_spawn(&daemon_, args), 0);
        ck_assert_int_eq(daemon_wait_exit(&daemon_, WAIT_MS, &status), 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status 0x%x", status);
        daemon_assert(&daemon_, daemon_log_contains(&daemon_, "10-tls.conf:2: tls_ca_file '/nonexistent/ca.pem': No such file or directory"));

        /* At start-up it is a configuration error: exit 78, no restart loop. */
        ck_assert_int_eq(daemon_spawn(&daemon_, NULL), 0);
        ck_assert_int_eq(daemon_wait_exit(&daemon_, WAIT_MS, &status), 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 78, "status 0x%x", status);
}
END_TEST

int main(void) {
        Suite *s = suite_create("reload");

        add_case(s, "test_reload_good", test_reload_good);
        add_case(s, "test_reload_bad", test_reload_bad);
        add_case(s, "test_reload_changed_line", test_reload_changed_line);
        add_case(s, "test_reload_rename_keeps_line", test_reload_rename_keeps_line);
        add_case(s, "test_reload_fails_changes_nothing", test_reload_fails_changes_nothing);
        add_case(s, "test_reload_line_held_elsewhere", test_reload_line_held_elsewhere);
        add_case(s, "test_reload_refused", test_reload_refused);
        add_case(s, "test_check_tls_files", test_check_tls_files);
        return run_suite(s);
}

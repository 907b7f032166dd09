/* SPDX-License-Identifier: MIT */
/* Integration tests of the whole daemon: start-up, inputs, outputs, sensors, the
 * broker going away, signals and exit statuses. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "board.h"
#include "macro.h"

/* Start-up: READY=1, a status line, watchdog pings, status and every state retained. */
START_TEST(test_startup) {
        struct test_client *late;

        start_daemon();
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "STATUS=", WAIT_MS) == 0);
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "WATCHDOG=1", WAIT_MS) == 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "online"));
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "OFF"));
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        daemon_assert(&daemon_, wait_msg("iotgw/t1/lamp/state", "ON"));
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "STATUS=connected to 127.0.0.1", WAIT_MS) == 0);

        /* Retained: a client that comes later sees the same. */
        ck_assert_int_eq(test_client_new(test_broker_port(broker), &late), 0);
        ck_assert_int_eq(test_client_subscribe(late, "iotgw/t1/+/state"), 0);
        daemon_assert(&daemon_, test_client_wait(late, "iotgw/t1/lamp/state", "ON", WAIT_MS * UINT64_C(1000), NULL) == 0);
        daemon_assert(&daemon_, test_client_wait(late, "iotgw/t1/door/state", "OFF", WAIT_MS * UINT64_C(1000), NULL) == 0);
        test_client_free(late);
}
END_TEST

/* An input edge on the simulated board becomes a retained state. */
START_TEST(test_input_edge) {
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "OFF"));
        sim("set gpiochip0 GPIO17 1", "ok");
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "ON"));
        sim("set gpiochip0 GPIO17 0", "ok");
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "OFF"));
}
END_TEST

/* A bouncing input yields one change. */
START_TEST(test_input_bounce) {
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/bouncy/state", "OFF"));
        drain("iotgw/t1/bouncy/state");
        /* Five edges in far less than the 100 ms debounce window, ending high. */
        sim("set gpiochip0 5 1", "ok");
        sim("set gpiochip0 5 0", "ok");
        sim("set gpiochip0 5 1", "ok");
        sim("set gpiochip0 5 0", "ok");
        sim("set gpiochip0 5 1", "ok");
        daemon_assert(&daemon_, wait_msg("iotgw/t1/bouncy/state", "ON"));
        /* Then a marker change on another entity: everything before it has arrived. */
        sim("set gpiochip0 GPIO17 1", "ok");
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "ON"));
        /* Nothing else on the bouncy input: the ON above was its only change. */
        {
                struct test_message *m = NULL;
                int r = test_client_take(client, "iotgw/t1/bouncy/state", NULL, &m);

                ck_assert_msg(r == -EAGAIN, "unexpected extra state '%s'", m ? m->payload : "");
        }
}
END_TEST

/* ON, OFF, TOGGLE: the line follows and the new state is published. */
START_TEST(test_output_commands) {
        char reply[64];

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        drain("iotgw/t1/relay/state");

        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        sim("get gpiochip0 GPIO27", "1");

        drain("iotgw/t1/relay/state");
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "toggle"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        sim("get gpiochip0 GPIO27", "0");

        drain("iotgw/t1/relay/state");
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "{\"state\":\"ON\"}"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));

        /* /get republishes the current state. */
        drain("iotgw/t1/relay/state");
        ck_assert_int_eq(publish("iotgw/t1/relay/get", ""), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        (void) reply;
}
END_TEST

/* A pulse goes back to the state from before it: an ON output given an OFF pulse ends
 * ON, and an ON pulse on an output already ON leaves it ON. */
START_TEST(test_output_pulse_restores) {
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "{\"state\":\"OFF\",\"pulse_ms\":300}"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        sim("get gpiochip0 GPIO27", "1");

        ck_assert_int_eq(publish("iotgw/t1/relay/set", "{\"state\":\"ON\",\"pulse_ms\":300}"), 0);
        /* The state after the command, then the one after the pulse: both ON. */
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        ck_assert_int_eq(test_client_take(client, "iotgw/t1/relay/state", "OFF", NULL), -EAGAIN);
        sim("get gpiochip0 GPIO27", "1");
}
END_TEST

/* A pulse turns the output on, then off by itself. */
START_TEST(test_output_pulse) {
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        drain("iotgw/t1/relay/state");
        ck_assert_int_eq(publish("iotgw/t1/relay/set",
                                             "{\"state\":\"ON\",\"pulse_ms\":300}"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        sim("get gpiochip0 GPIO27", "0");
}
END_TEST

static void expect_error(const char *topic, const char *payload, size_t len, const char *fragment) {
        struct test_message *m;
        json_object *root, *t, *e;

        ck_assert_int_eq(test_client_publish_raw(client, topic, payload, len, 1, false), 0);
        m = wait_take(client, "iotgw/t1/error", NULL);
        daemon_assert(&daemon_, m);
        root = json_tokener_parse(m->payload);
        ck_assert_msg(root, "error payload is not JSON: %s", m->payload);
        ck_assert(json_object_object_get_ex(root, "topic", &t));
        ck_assert(json_object_object_get_ex(root, "error", &e));
        ck_assert_str_eq(json_object_get_string(t), topic);
        ck_assert_msg(strstr(json_object_get_string(e), fragment), "error '%s' lacks '%s'",
                      json_object_get_string(e), fragment);
        json_object_put(root);
        test_message_free(m);
}

/* Bad commands are answered on BASE/error and never stop the daemon. */
START_TEST(test_bad_commands) {
        char big[4096];

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));

        expect_error("iotgw/t1/nosuch/set", "ON", 2, "unknown entity");
        expect_error("iotgw/t1/relay/set", "BLINK", 5, "");
        expect_error("iotgw/t1/relay/set", "\xff\xfe", 2, "UTF-8");
        memset(big, 'A', sizeof(big));
        expect_error("iotgw/t1/relay/set", big, sizeof(big), "");
        expect_error("iotgw/t1/relay/set", "{\"state\":\"ON\",\"pulse_ms\":999999}",
                     strlen("{\"state\":\"ON\",\"pulse_ms\":999999}"), "pulse_ms");
        expect_error("iotgw/t1/door/set", "ON", 2, "not an output");

        /* Still alive and obeying. */
        drain("iotgw/t1/relay/state");
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        ck_assert_int_eq(daemon_signal(&daemon_, 0), 0);
}
END_TEST

/* MQTT 5 request/response: the reply goes to the response topic with the correlation data. */
START_TEST(test_response_topic) {
        struct test_message *m;

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        use_v5_client("iotgw/t1/reply/#");
        ck_assert_int_eq(test_client_request(client, "iotgw/t1/relay/set", "BOGUS", "iotgw/t1/reply/me", "corr-42"), 0);
        m = wait_take(client, "iotgw/t1/reply/me", NULL);
        daemon_assert(&daemon_, m);
        ck_assert_msg(strstr(m->payload, "\"error\""), "reply: %s", m->payload);
        ck_assert_str_eq(m->correlation, "corr-42");
        test_message_free(m);

        ck_assert_int_eq(test_client_request(client, "iotgw/t1/relay/set", "ON", "iotgw/t1/reply/me", "corr-43"), 0);
        m = wait_take(client, "iotgw/t1/reply/me", NULL);
        daemon_assert(&daemon_, m);
        ck_assert_str_eq(m->correlation, "corr-43");
        ck_assert_msg(strstr(m->payload, "\"ON\""), "reply: %s", m->payload);
        test_message_free(m);
}
END_TEST

/* The broker publishes the last will when the daemon dies without saying goodbye. */
START_TEST(test_last_will) {
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "online"));
        ck_assert_int_eq(daemon_signal(&daemon_, SIGKILL), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "offline"));
}
END_TEST

static double temperature_of(const char *payload, char ts[32]) {
        json_object *root = json_tokener_parse(payload), *t, *v;
        double value;

        ck_assert_msg(root, "not JSON: %s", payload);
        ck_assert(json_object_object_get_ex(root, "temperature", &v));
        ck_assert(json_object_object_get_ex(root, "ts", &t));
        value = json_object_get_double(v);
        snprintf(ts, 32, "%s", json_object_get_string(t));
        json_object_put(root);
        return value;
}

/* A broker restart: the daemon reconnects, resubscribes (commands work again), and
 * readings taken while the broker was away are delivered afterwards, in order, with
 * the time they were taken. The test client keeps a persistent session on a broker
 * with persistence, so it gets everything whenever either side reconnects first. */
START_TEST(test_broker_restarts) {
        char ts[32], last_ts[32] = "";
        int n_315 = 0, n_325 = 0;

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "online"));
        daemon_assert(&daemon_, wait_msg("iotgw/t1/climate/state", NULL));

        ck_assert_int_eq(test_broker_stop(broker), 0);
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "STATUS=connecting", WAIT_MS) == 0);

        sim("sensor climate temperature 31.5", "ok");
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "\"temperature\":31.50", WAIT_MS) == 0);
        sim("sensor climate temperature 32.5", "ok");
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "\"temperature\":32.50", WAIT_MS) == 0);

        ck_assert_int_eq(test_broker_restart(broker), 0);
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "STATUS=connected", WAIT_MS) == 0);

        /* In order: every 31.5 before the first 32.5, timestamps never going back. */
        while (n_325 == 0) {
                struct test_message *m = wait_take(client, "iotgw/t1/climate/state", NULL);
                double t;

                daemon_assert(&daemon_, m);
                t = temperature_of(m->payload, ts);
                ck_assert_msg(strcmp(ts, last_ts) >= 0, "ts went back: %s after %s", ts, last_ts);
                snprintf(last_ts, sizeof(last_ts), "%s", ts);
                if (t > 31.4 && t < 31.6)
                        n_315++;
                else if (t > 32.4 && t < 32.6)
                        n_325++;
                else
                        ck_assert_msg(n_315 == 0, "unexpected %s after a 31.5 reading", m->payload);
                test_message_free(m);
        }
        ck_assert_int_ge(n_315, 1);

        /* Subscriptions were renewed: commands work again. */
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        sim("get gpiochip0 GPIO27", "1");
}
END_TEST

/* A simulated sensor's value comes back through the real driver as JSON. */
START_TEST(test_sensor_value) {
        struct test_message *m;
        char ts[32];

        start_daemon();
        sim("sensor climate temperature 18.25", "ok");
        sim("sensor climate humidity 61", "ok");
        for (;;) {
                m = wait_take(client, "iotgw/t1/climate/state", NULL);
                daemon_assert(&daemon_, m);
                if (strstr(m->payload, "\"temperature\":18.25"))
                        break;
                test_message_free(m);
        }
        ck_assert_msg(strstr(m->payload, "\"humidity\":61.0"), "payload %s", m->payload);
        ck_assert_msg(strstr(m->payload, "\"pressure\":"), "payload %s", m->payload);
        ck_assert_double_eq_tol(temperature_of(m->payload, ts), 18.25, 0.001);
        ck_assert_int_eq((int) strlen(ts), 24);
        test_message_free(m);
        sim("sensor climate temperature 99", "error: out of range");
        sim("sensor nosuch temperature 20", "error: unknown sensor nosuch");
}
END_TEST

/* A value the payload cannot carry is a read error, logged and counted, and the
 * sensor recovers once its value is sane again. */
START_TEST(test_sensor_value_out_of_range) {
        struct test_message *m;

        ck_assert_int_eq(daemon_write_conf(&daemon_, "[gateway]\nname = t1\nhal = sim\nsim_socket = @SIMSOCK@\n"
                                           "stats_interval = 1h\ndiscovery = none\n"
                                           "[mqtt]\nhost = 127.0.0.1\nport = @PORT@\n"
                                           "[sensor big]\ndriver = sysfs\npath = /sys/class/hwmon/hwmon0/x\n"
                                           "scale = 1e12\ninterval = 100ms\n"), 0);
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/big/state", NULL));
        /* Far beyond what a reading may carry (1e15). */
        sim("sensor big value 2000000000000000000", "ok");
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "sensor big (sysfs): formatting the reading failed", WAIT_MS) == 0);
        drain("iotgw/t1/big/state");
        ck_assert_int_eq(publish("iotgw/t1/stats/get", ""), 0);
        /* The stats of the connect may come first: the answer is the one that counts
         * the request. */
        do {
                m = wait_take(client, "iotgw/t1/stats", NULL);
                daemon_assert(&daemon_, m);
                if (strstr(m->payload, "\"commands\":1,"))
                        break;
                test_message_free(m);
        } while (true);
        ck_assert_msg(!strstr(m->payload, "\"read_errors\":0,"), "stats: %s", m->payload);
        test_message_free(m);
        /* Nothing stale is republished meanwhile: /get finds no reading to repeat. */
        ck_assert_int_eq(test_client_take(client, "iotgw/t1/big/state", NULL, NULL), -EAGAIN);

        sim("sensor big value 21000000000000", "ok");
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "sensor big: reading again after", WAIT_MS) == 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/big/state", NULL));
}
END_TEST

/* A command during a pulse ends the pulse and wins: nothing switches back later. */
START_TEST(test_command_ends_pulse) {
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "{\"state\":\"ON\",\"pulse_ms\":400}"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "OFF"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        /* Past the end of the cancelled pulse, then one more round trip. */
        ck_assert_int_eq(test_client_wait(client, "iotgw/t1/relay/state", "OFF", 800 * UINT64_C(1000), NULL),
                         -ETIMEDOUT);
        sim("get gpiochip0 GPIO27", "1");
}
END_TEST

/* A failing sensor keeps the daemon alive, is counted and logged, and recovers. */
START_TEST(test_sensor_failure) {
        struct test_message *m;

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/climate/state", NULL));
        sim("fail climate on", "ok");
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "sensor climate (bme280): read failed", WAIT_MS) == 0);
        drain("iotgw/t1/climate/state");

        /* Alive: commands still work, and the stats count the failures. */
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        drain("iotgw/t1/stats");
        ck_assert_int_eq(publish("iotgw/t1/stats/get", ""), 0);
        m = wait_take(client, "iotgw/t1/stats", NULL);
        daemon_assert(&daemon_, m);
        ck_assert_msg(!strstr(m->payload, "\"read_errors\":0,"), "stats: %s", m->payload);
        test_message_free(m);

        sim("sensor climate temperature 23.75", "ok");
        sim("fail climate off", "ok");
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "sensor climate: reading again after", WAIT_MS) == 0);
        for (;;) {
                m = wait_take(client, "iotgw/t1/climate/state", NULL);
                daemon_assert(&daemon_, m);
                if (strstr(m->payload, "\"temperature\":23.75"))
                        break;
                test_message_free(m);
        }
        test_message_free(m);
}
END_TEST

/* publish = on-change: a change within the deadband is not published, one beyond is. */
START_TEST(test_sensor_on_change) {
        struct test_message *m;

        start_daemon();
        sim("sensor lux illuminance 100", "ok");
        for (;;) {
                m = wait_take(client, "iotgw/t1/lux/state", NULL);
                daemon_assert(&daemon_, m);
                if (strstr(m->payload, "\"illuminance\":100.0"))
                        break;
                test_message_free(m);
        }
        test_message_free(m);

        /* Within the deadband: read (the chip is polled) but not published. */
        sim("sensor lux illuminance 103", "ok");
        drain("iotgw/t1/climate/state");
        /* The climate sensor publishes every 200 ms: several of its readings mean the
         * lux sensor (every 100 ms) has read 103 a few times by now. */
        for (int i = 0; i < 5; i++)
                daemon_assert(&daemon_, wait_msg("iotgw/t1/climate/state", NULL));
        ck_assert_msg(test_client_take(client, "iotgw/t1/lux/state", NULL, &m) == -EAGAIN,
                      "published within the deadband: %s", m->payload);

        sim("sensor lux illuminance 110", "ok");
        m = wait_take(client, "iotgw/t1/lux/state", NULL);
        daemon_assert(&daemon_, m);
        ck_assert_msg(strstr(m->payload, "\"illuminance\":110.0"), "payload %s", m->payload);
        test_message_free(m);
}
END_TEST

/* SIGTERM: outputs to their on_shutdown state, "offline", exit 0. */
START_TEST(test_sigterm) {
        int status = -1;

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/lamp/state", "ON"));
        ck_assert_int_eq(daemon_signal(&daemon_, SIGTERM), 0);
        daemon_assert(&daemon_, daemon_wait_exit(&daemon_, WAIT_MS, &status) == 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/lamp/state", "OFF"));
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "offline"));
        daemon_assert(&daemon_, strstr(daemon_.notify_seen, "STOPPING=1") != NULL);
}
END_TEST

/* --check says OK or lists every problem; a bad file at start exits with 78. */
START_TEST(test_check_and_exit_status) {
        char *check[] = { (char *) "--check", NULL };
        int status = -1;

        ck_assert_int_eq(daemon_spawn(&daemon_, check), 0);
        ck_assert_int_eq(daemon_wait_exit(&daemon_, WAIT_MS, &status), 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
        daemon_assert(&daemon_, daemon_log_contains(&daemon_, "configuration OK"));

        ck_assert_int_eq(daemon_write_conf(&daemon_, "[gateway]\nqueue_max_messages = 10x\n[nonsense]\n"), 0);
        ck_assert_int_eq(daemon_spawn(&daemon_, check), 0);
        ck_assert_int_eq(daemon_wait_exit(&daemon_, WAIT_MS, &status), 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status 0x%x", status);
        daemon_assert(&daemon_, daemon_log_contains(&daemon_, "iotgwd.conf:2:"));
        daemon_assert(&daemon_, daemon_log_contains(&daemon_, "iotgwd.conf:3:"));

        ck_assert_int_eq(daemon_spawn(&daemon_, NULL), 0);
        ck_assert_int_eq(daemon_wait_exit(&daemon_, WAIT_MS, &status), 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 78, "status 0x%x", status);

        /* A valid file whose hardware is missing is no reason to stop: the daemon
         * starts, says what is missing once, and keeps trying (here there is no GPIO
         * chip at all). */
        ck_assert_int_eq(daemon_write_conf(&daemon_, "[gateway]\nname = t1\nhal = gpiod\n"
                                           "[mqtt]\nhost = 127.0.0.1\nport = @PORT@\n"
                                           "[input x]\nchip = no-such-chip-label\nline = 1\n"
                                           "[output y]\nchip = no-such-chip-label\nline = 2\n"), 0);
        start_daemon();
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "entities, retrying the line (after 1 s", WAIT_MS) == 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "output y: cannot request line 2 of chip no-such-chip-label", WAIT_MS) == 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "online"));
        /* Nothing is claimed about a line it does not have; commands are refused. */
        ck_assert_int_eq(publish("iotgw/t1/y/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/error", NULL));
        ck_assert_int_eq(test_client_take(client, "iotgw/t1/x/state", NULL, NULL), -EAGAIN);
        ck_assert_int_eq(test_client_take(client, "iotgw/t1/y/state", NULL, NULL), -EAGAIN);
        /* A reload hands the waiting entities over, still waiting, with new settings. */
        ck_assert_int_eq(daemon_write_dropin(&daemon_, "10-low.conf", "[output y]\nactive_low = yes\n"
                                             "[input x]\nbias = pull-up\n"), 0);
        ck_assert_int_eq(daemon_signal(&daemon_, SIGHUP), 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "Configuration reloaded: 1 inputs, 1 outputs, 0 sensors", WAIT_MS) == 0);
        ck_assert_int_eq(publish("iotgw/t1/y/get", ""), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/error", NULL));
        ck_assert_int_eq(daemon_signal(&daemon_, SIGTERM), 0);
        ck_assert_int_eq(daemon_wait_exit(&daemon_, WAIT_MS, &status), 0);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status 0x%x", status);
}
END_TEST

/* SIGUSR1 logs the statistics; neither SIGUSR1 nor SIGUSR2 stops the daemon. */
START_TEST(test_sigusr) {
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        ck_assert_int_eq(daemon_signal(&daemon_, SIGUSR1), 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "Statistics: {\"sent\":", WAIT_MS) == 0);
        ck_assert_int_eq(daemon_signal(&daemon_, SIGUSR2), 0);
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "ON"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        ck_assert_int_eq(daemon_signal(&daemon_, 0), 0);
}
END_TEST

/* Writes `n` commands to the simulated board in one go and reads their replies: the
 * board runs them faster than the daemon reads the input they drive. */
static void sim_burst(const char *const *cmds, unsigned n) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0, off = 0;
        unsigned replies = 0;
        int fd;

        buf = malloc((size_t) n * 64);
        ck_assert_ptr_nonnull(buf);
        for (unsigned i = 0; i < n; i++)
                len += (size_t) snprintf(buf + len, 64, "%s\n", cmds[i % 2]);

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        strcpy(sa.sun_path, daemon_.sim_socket);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
        /* The replies are short and the socket buffers hold them all. */
        while (off < len) {
                ssize_t k = write(fd, buf + off, len - off);

                ck_assert_int_gt(k, 0);
                off += (size_t) k;
        }
        while (replies < n) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char r[512];
                ssize_t k;

                ck_assert_int_eq(poll(&p, 1, WAIT_MS), 1);
                k = read(fd, r, sizeof(r));
                ck_assert_int_gt(k, 0);
                for (ssize_t i = 0; i < k; i++)
                        replies += r[i] == '\n';
        }
        close(fd);
}

static uint64_t stats_field(const char *payload, const char *field) {
        json_object *o = json_tokener_parse(payload), *v;
        uint64_t n;

        ck_assert_msg(o && json_object_object_get_ex(o, field, &v), "stats: %s", payload);
        n = (uint64_t) json_object_get_int64(v);
        json_object_put(o);
        return n;
}

/* A burst of 1000 edges faster than the daemon reads them: the board's event queue
 * overflows, as the kernel's would. Every edge is either published or counted in
 * edges_lost in BASE/stats, the loss is logged once, and the state ends right. */
START_TEST(test_input_edges_lost) {
        const char *const cmds[] = { "set gpiochip0 GPIO17 1", "set gpiochip0 GPIO17 0" };
        const unsigned n = 1000;
        struct test_message *m;
        unsigned published = 0;
        uint64_t lost = 0, dropped = 0;

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "OFF"));
        drain("iotgw/t1/door/state");
        sim_burst(cmds, n);

        /* Until the stats account for every edge, counting the states as they come. */
        for (int round = 0; round < 50; round++) {
                while (test_client_take(client, "iotgw/t1/door/state", NULL, &m) == 0) {
                        published++;
                        test_message_free(m);
                }
                drain("iotgw/t1/stats");
                ck_assert_int_eq(publish("iotgw/t1/stats/get", ""), 0);
                m = wait_take(client, "iotgw/t1/stats", NULL);
                daemon_assert(&daemon_, m);
                lost = stats_field(m->payload, "edges_lost");
                dropped = stats_field(m->payload, "dropped");
                test_message_free(m);
                if (published + lost + dropped >= n)
                        break;
        }
        while (test_client_take(client, "iotgw/t1/door/state", NULL, &m) == 0) {
                published++;
                test_message_free(m);
        }
        ck_assert_msg(published + lost == n && dropped == 0,
                      "%u edges: %u published, %" PRIu64 " lost, %" PRIu64 " dropped",
                      n, published, lost, dropped);
        ck_assert_uint_gt(lost, 0);
        ck_assert_uint_eq(daemon_log_count(&daemon_, "GPIO edges lost"), 1);
        /* The last edge went low, and the retained state says so. */
        sim("get gpiochip0 GPIO17", "0");
        drain("iotgw/t1/door/state");
        ck_assert_int_eq(publish("iotgw/t1/door/get", ""), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/door/state", "OFF"));
}
END_TEST

/* The board's I2C buses made SMBus-only, like i2c-stub: the BH1750 (plain I2C) fails
 * with the kernel's "Operation not supported", the BME280 (SMBus) goes on, and the
 * BH1750 reads again once plain transfers are back. */
START_TEST(test_sensor_smbus_only) {
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/lux/state", NULL));
        sim("i2c smbus-only on", "ok");
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "sensor lux (bh1750): read failed: "
                                                "Operation not supported", WAIT_MS) == 0);
        drain("iotgw/t1/climate/state");
        daemon_assert(&daemon_, wait_msg("iotgw/t1/climate/state", NULL));
        ck_assert_uint_eq(daemon_log_count(&daemon_, "sensor climate (bme280): read failed"), 0);
        sim("i2c smbus-only off", "ok");
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "sensor lux: reading again after",
                                                WAIT_MS) == 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("daemon");

        add_case(s, "test_startup", test_startup);
        add_case(s, "test_input_edge", test_input_edge);
        add_case(s, "test_input_bounce", test_input_bounce);
        add_case(s, "test_output_commands", test_output_commands);
        add_case(s, "test_output_pulse", test_output_pulse);
        add_case(s, "test_output_pulse_restores", test_output_pulse_restores);
        add_case(s, "test_bad_commands", test_bad_commands);
        add_case(s, "test_response_topic", test_response_topic);
        add_case(s, "test_last_will", test_last_will);
        add_case(s, "test_broker_restarts", test_broker_restarts);
        add_case(s, "test_sensor_value", test_sensor_value);
        add_case(s, "test_sensor_failure", test_sensor_failure);
        add_case(s, "test_sensor_value_out_of_range", test_sensor_value_out_of_range);
        add_case(s, "test_command_ends_pulse", test_command_ends_pulse);
        add_case(s, "test_sensor_on_change", test_sensor_on_change);
        add_case(s, "test_sigusr", test_sigusr);
        add_case(s, "test_sigterm", test_sigterm);
        add_case(s, "test_check_and_exit_status", test_check_and_exit_status);
        add_case(s, "test_input_edges_lost", test_input_edges_lost);
        add_case(s, "test_sensor_smbus_only", test_sensor_smbus_only);
        return run_suite(s);
}

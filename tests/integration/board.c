/* SPDX-License-Identifier: MIT */
/* The simulated board of the whole-daemon tests and the steps they share. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"

const char *const BOARD =
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
        "[input bouncy]\n"
        "chip = gpiochip0\n"
        "line = 5\n"
        "debounce_ms = 100\n"
        "[output relay]\n"
        "chip = gpiochip0\n"
        "line = GPIO27\n"
        "max_pulse_ms = 5000\n"
        "[output lamp]\n"
        "chip = gpiochip1\n"
        "line = 3\n"
        "initial = on\n"
        "on_shutdown = off\n"
        "[sensor climate]\n"
        "driver = bme280\n"
        "address = 0x76\n"
        "interval = 200ms\n"
        "[sensor lux]\n"
        "driver = bh1750\n"
        "interval = 100ms\n"
        "publish = on-change\n"
        "deadband = 5\n"
        "max_silence = 1h\n";

struct test_broker *broker;
struct daemon_proc daemon_;
struct test_client *client;

void setup(void) {
        /* A persistent MQTT 3.1.1 session survives a broker restart (see
         * test_broker_restarts); with MQTT 5 it would need a session expiry. */
        /* set_tcp_nodelay: the broker's own Nagle delay (40 ms) would blur timings. */
        ck_assert_int_eq(test_broker_start("persistence true\nset_tcp_nodelay true\n", &broker), 0);
        ck_assert_int_eq(daemon_init(&daemon_, test_broker_port(broker)), 0);
        ck_assert_int_eq(daemon_write_conf(&daemon_, BOARD), 0);
        ck_assert_int_eq(test_client_new_with(test_broker_port(broker), "tester", false, false, &client), 0);
        ck_assert_int_eq(test_client_subscribe(client, "iotgw/#"), 0);
}

void teardown(void) {
        daemon_stop(&daemon_);
        client = test_client_free(client);
        broker = test_broker_free(broker);
}

void start_daemon(void) {
        int r = daemon_start(&daemon_, WAIT_MS);

        daemon_assert(&daemon_, r == 0);
}

bool wait_msg(const char *topic, const char *payload) {
        return test_client_wait(client, topic, payload, WAIT_MS * UINT64_C(1000), NULL) == 0;
}

struct test_message *wait_take(struct test_client *c, const char *topic, const char *payload) {
        struct test_message *m = NULL;

        if (test_client_wait(c, topic, payload, WAIT_MS * UINT64_C(1000), &m) < 0)
                return NULL;
        return m;
}

void drain(const char *topic) {
        struct test_message *m;

        while (test_client_take(client, topic, NULL, &m) == 0)
                test_message_free(m);
}

int publish(const char *topic, const char *payload) {
        return test_client_publish(client, topic, payload, 1, false);
}

void use_v5_client(const char *pattern) {
        struct test_client *v5 = NULL;

        ck_assert_int_eq(test_client_new_with(test_broker_port(broker), NULL, true, true, &v5), 0);
        client = test_client_free(client);
        client = v5;
        ck_assert_int_eq(test_client_subscribe(client, pattern), 0);
}

void sim(const char *cmd, const char *expect) {
        char reply[256];

        daemon_assert(&daemon_, daemon_sim(&daemon_, cmd, reply, sizeof(reply)) == 0);
        if (strcmp(reply, expect) != 0) {
                daemon_dump_log(&daemon_);
                ck_abort_msg("sim '%s' replied '%s', expected '%s'", cmd, reply, expect);
        }
}

void add_case(Suite *s, const char *name, const TTest *test) {
        TCase *tc = tcase_create(name);

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 60);
        tcase_add_test(tc, test);
        suite_add_tcase(s, tc);
}

int run_suite(Suite *s) {
        SRunner *sr = srunner_create(s);
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* SPDX-License-Identifier: MIT */
/* Integration tests of what the network may ask of the daemon: MQTT 5 replies and
 * where they may go, retained commands, long topics, and pulses that last what was
 * asked for. */
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

/* MQTT 5 replies go only under response_topic_prefix (default BASE/reply/): a request
 * naming another topic still runs, but gets no reply there, and is counted. */
START_TEST(test_response_topic_prefix) {
        struct test_message *m;

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        use_v5_client("#");

        /* Onto another entity's retained state: refused, the command itself runs. */
        ck_assert_int_eq(test_client_request(client, "iotgw/t1/relay/set", "ON", "iotgw/t1/door/state", "c1"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "response topic 'iotgw/t1/door/state' is not under "
                                                "response_topic_prefix 'iotgw/t1/reply/'", WAIT_MS) == 0);
        /* A request after it, answered: nothing came before it on the refused topic. */
        ck_assert_int_eq(test_client_request(client, "iotgw/t1/relay/get", "", "iotgw/t1/reply/me", "c2"), 0);
        m = wait_take(client, "iotgw/t1/reply/me", NULL);
        daemon_assert(&daemon_, m);
        ck_assert_str_eq(m->payload, "{\"entity\":\"relay\",\"state\":\"ON\"}");
        ck_assert_str_eq(m->correlation, "c2");
        test_message_free(m);
        ck_assert_int_eq(test_client_take(client, "iotgw/t1/door/state", "{\"entity\":\"relay\",\"state\":\"ON\"}", NULL),
                         -EAGAIN);

        /* Discovery topics are no place for replies either. */
        ck_assert_int_eq(test_client_request(client, "iotgw/t1/relay/set", "OFF",
                                             "homeassistant/switch/x/config", "c3"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));

        /* stats/get answers on the response topic too, and counts the refusals. */
        ck_assert_int_eq(test_client_request(client, "iotgw/t1/stats/get", "", "iotgw/t1/reply/s", "c4"), 0);
        m = wait_take(client, "iotgw/t1/reply/s", NULL);
        daemon_assert(&daemon_, m);
        ck_assert_msg(strstr(m->payload, "\"command_errors\":2"), "stats: %s", m->payload);
        ck_assert_str_eq(m->correlation, "c4");
        test_message_free(m);
        ck_assert_int_eq(test_client_take(client, "homeassistant/switch/x/config", NULL, NULL), -EAGAIN);

        /* A sensor's /get answers with its reading. */
        daemon_assert(&daemon_, wait_msg("iotgw/t1/climate/state", NULL));
        ck_assert_int_eq(test_client_request(client, "iotgw/t1/climate/get", "", "iotgw/t1/reply/c", "c5"), 0);
        m = wait_take(client, "iotgw/t1/reply/c", NULL);
        daemon_assert(&daemon_, m);
        ck_assert_msg(strstr(m->payload, "\"temperature\""), "reply: %s", m->payload);
        test_message_free(m);
}
END_TEST

/* response_topic_prefix = (empty): no replies at all; "#": any topic. */
START_TEST(test_response_topic_prefix_settings) {
        struct test_message *m;

        ck_assert_int_eq(daemon_write_dropin(&daemon_, "10-replies.conf", "[mqtt]\nresponse_topic_prefix =\n"), 0);
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        use_v5_client("#");
        ck_assert_int_eq(test_client_request(client, "iotgw/t1/relay/set", "ON", "iotgw/t1/reply/me", "c1"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "not replying to iotgw/t1/relay/set", WAIT_MS) == 0);
        ck_assert_int_eq(test_client_take(client, "iotgw/t1/reply/me", NULL, NULL), -EAGAIN);

        ck_assert_int_eq(daemon_write_dropin(&daemon_, "10-replies.conf", "[mqtt]\nresponse_topic_prefix = #\n"), 0);
        daemon_notify_reset(&daemon_);
        ck_assert_int_eq(daemon_signal(&daemon_, SIGHUP), 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "Configuration reloaded", WAIT_MS) == 0);
        ck_assert_int_eq(test_client_request(client, "iotgw/t1/relay/set", "OFF", "anywhere/me", "c2"), 0);
        m = wait_take(client, "anywhere/me", NULL);
        daemon_assert(&daemon_, m);
        ck_assert_str_eq(m->payload, "{\"entity\":\"relay\",\"state\":\"OFF\"}");
        test_message_free(m);
}
END_TEST

/* A retained command is a leftover: by default it never runs, and the log says which
 * topic holds it and how to clear it. */
START_TEST(test_retained_command_ignored) {
        ck_assert_int_eq(test_client_publish(client, "iotgw/t1/relay/set", "TOGGLE", 1, /* retain= */ true), 0);
        start_daemon();
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "ignoring the retained command on iotgw/t1/relay/set", WAIT_MS) == 0);
        daemon_assert(&daemon_, daemon_log_contains(&daemon_, "mosquitto_pub -r -n -t 'iotgw/t1/relay/set'"));
        sim("get gpiochip0 GPIO27", "0");

        /* Not again at the next connect, and never applied. */
        ck_assert_int_eq(test_broker_stop(broker), 0);
        ck_assert_int_eq(test_broker_restart(broker), 0);
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "STATUS=connected", WAIT_MS) == 0);
        /* Our client is back too once it sees the daemon's birth again. */
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "online"));
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "online"));
        ck_assert_int_eq(publish("iotgw/t1/lamp/set", "OFF"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/lamp/state", "OFF"));
        sim("get gpiochip0 GPIO27", "0");

        /* Live commands work as always. */
        ck_assert_int_eq(publish("iotgw/t1/relay/set", "TOGGLE"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
}
END_TEST

/* retained_commands = apply-once: the retained command runs at the first connect only. */
START_TEST(test_retained_command_apply_once) {
        ck_assert_int_eq(daemon_write_dropin(&daemon_, "10-retained.conf", "[mqtt]\nretained_commands = apply-once\n"), 0);
        ck_assert_int_eq(test_client_publish(client, "iotgw/t1/relay/set", "TOGGLE", 1, /* retain= */ true), 0);
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
        sim("get gpiochip0 GPIO27", "1");

        ck_assert_int_eq(test_broker_stop(broker), 0);
        ck_assert_int_eq(test_broker_restart(broker), 0);
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "ignoring the retained command on iotgw/t1/relay/set", WAIT_MS) == 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "online"));
        daemon_assert(&daemon_, wait_msg("iotgw/t1/status", "online"));
        ck_assert_int_eq(publish("iotgw/t1/lamp/set", "OFF"), 0);
        daemon_assert(&daemon_, wait_msg("iotgw/t1/lamp/state", "OFF"));
        sim("get gpiochip0 GPIO27", "1");
}
END_TEST

/* A command on a topic too long to quote whole still gets its error reply, with the
 * topic shortened. */
START_TEST(test_long_command_topic) {
        char topic[2100];
        struct test_message *m;

        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        snprintf(topic, sizeof(topic), "iotgw/t1/%02000d/set", 7);
        ck_assert_int_eq(publish(topic, "ON"), 0);
        m = wait_take(client, "iotgw/t1/error", NULL);
        daemon_assert(&daemon_, m);
        ck_assert_msg(strstr(m->payload, "000...\",\"error\":\"unknown topic\"}"), "error: %.300s", m->payload);
        ck_assert_uint_lt(m->len, 400);
        test_message_free(m);
}
END_TEST

/* Pulses last what was asked for: their timer may not be coalesced. The board has no
 * sensors, so nothing else wakes the loop during a pulse (a woken loop would run a
 * late timer on time and hide the slack). */
static const char *const QUIET =
        "[gateway]\nname = t1\nhal = sim\nsim_socket = @SIMSOCK@\nstats_interval = 1h\ndiscovery = none\n"
        "[mqtt]\nhost = 127.0.0.1\nport = @PORT@\nkeepalive = 60\n"
        "[output relay]\nchip = gpiochip0\nline = GPIO27\n";

static int compare_ll(const void *a, const void *b) {
        long long x = *(const long long *) a, y = *(const long long *) b;

        return x < y ? -1 : x > y;
}

START_TEST(test_pulse_timing) {
        long long took[5];

        ck_assert_int_eq(daemon_write_conf(&daemon_, QUIET), 0);
        start_daemon();
        daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
        for (size_t i = 0; i < ELEMENTSOF(took); i++) {
                long long on;

                ck_assert_int_eq(publish("iotgw/t1/relay/set", "{\"state\":\"ON\",\"pulse_ms\":150}"), 0);
                daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "ON"));
                on = now_ms();
                daemon_assert(&daemon_, wait_msg("iotgw/t1/relay/state", "OFF"));
                took[i] = now_ms() - on;
        }
        qsort(took, ELEMENTSOF(took), sizeof(took[0]), compare_ll);
        /* Each end is seen through the broker with the same delay: the median of the
         * differences is the pulse, within a few ms. Without 1 ms accuracy it is
         * anywhere up to 250 ms longer. */
        ck_assert_msg(took[0] >= 140, "shortest pulse %lld ms", took[0]);
        ck_assert_msg(took[ELEMENTSOF(took) / 2] <= 160, "median pulse %lld ms (%lld..%lld)",
                      took[ELEMENTSOF(took) / 2], took[0], took[ELEMENTSOF(took) - 1]);
}
END_TEST

int main(void) {
        Suite *s = suite_create("commands");

        add_case(s, "test_response_topic_prefix", test_response_topic_prefix);
        add_case(s, "test_response_topic_prefix_settings", test_response_topic_prefix_settings);
        add_case(s, "test_retained_command_ignored", test_retained_command_ignored);
        add_case(s, "test_retained_command_apply_once", test_retained_command_apply_once);
        add_case(s, "test_long_command_topic", test_long_command_topic);
        add_case(s, "test_pulse_timing", test_pulse_timing);
        return run_suite(s);
}

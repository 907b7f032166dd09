/* SPDX-License-Identifier: MIT */
/* Integration tests of Home Assistant discovery: a real mosquitto, the real iotgwd on
 * the simulated board, and a client playing Home Assistant. Every discovered topic is
 * checked against what the daemon really publishes and obeys. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker.h"
#include "daemon.h"

#define WAIT_MS 15000

#define BOARD_HEAD                              \
        "[gateway]\n"                           \
        "name = t1\n"                           \
        "hal = sim\n"                           \
        "sim_socket = @SIMSOCK@\n"              \
        "stats_interval = 1h\n"                 \
        "[mqtt]\n"                              \
        "host = 127.0.0.1\n"                    \
        "port = @PORT@\n"                       \
        "keepalive = 5\n"                       \
        "[input door]\n"                        \
        "chip = gpiochip0\n"                    \
        "line = GPIO17\n"                       \
        "device_class = door\n"                 \
        "name = Front door\n"                   \
        "[input tamper]\n"                      \
        "chip = gpiochip0\n"                    \
        "line = 5\n"                            \
        "discovery = false\n"                   \
        "[output relay]\n"                      \
        "chip = gpiochip0\n"                    \
        "line = GPIO27\n"                       \
        "device_class = outlet\n"               \
        "[sensor climate]\n"                    \
        "driver = bme280\n"                     \
        "address = 0x76\n"                      \
        "interval = 200ms\n"

/* The full board, and the same without the lamp: a reload removes it. */
static const char *const BOARD =
        BOARD_HEAD
        "[output lamp]\n"
        "chip = gpiochip1\n"
        "line = 3\n";
static const char *const BOARD_NO_LAMP = BOARD_HEAD;

#define CFG(component, object) "homeassistant/" component "/t1/" object "/config"

static struct test_broker *broker;
static struct daemon_proc daemon_;
static struct test_client *ha;          /* plays Home Assistant */

static void setup(void) {
        int r = test_broker_start(NULL, &broker);

        ck_assert_int_eq(r, 0);
        ck_assert_int_eq(daemon_init(&daemon_, test_broker_port(broker)), 0);
        ck_assert_int_eq(daemon_write_conf(&daemon_, BOARD), 0);
        ck_assert_int_eq(test_client_new(test_broker_port(broker), &ha), 0);
        ck_assert_int_eq(test_client_subscribe(ha, "homeassistant/#"), 0);
        ck_assert_int_eq(test_client_subscribe(ha, "iotgw/#"), 0);
}

static void teardown(void) {
        daemon_stop(&daemon_);
        ha = test_client_free(ha);
        broker = test_broker_free(broker);
}

static void start_daemon(void) {
        int r = daemon_start(&daemon_, WAIT_MS);

        daemon_assert(&daemon_, r == 0);
}

static void sim(const char *cmd, const char *expect) {
        char reply[256];

        daemon_assert(&daemon_, daemon_sim(&daemon_, cmd, reply, sizeof(reply)) == 0);
        if (strcmp(reply, expect) != 0) {
                daemon_dump_log(&daemon_);
                ck_abort_msg("sim '%s' replied '%s', expected '%s'", cmd, reply, expect);
        }
}

/* Takes the oldest message on topic (with payload unless NULL) out of c's inbox,
 * waiting for it; fails the test with the daemon's log if none comes. */
static struct test_message *take(struct test_client *c, const char *topic, const char *payload) {
        struct test_message *m = NULL;
        int r = test_client_wait(c, topic, payload, WAIT_MS * UINT64_C(1000), &m);

        if (r < 0) {
                daemon_dump_log(&daemon_);
                ck_abort_msg("nothing on %s (payload %s): %s", topic, payload ?: "any", strerror(-r));
        }
        return m;
}

static void expect(struct test_client *c, const char *topic, const char *payload) {
        test_message_free(take(c, topic, payload));
}

/* Whether a message (with payload unless NULL) has already arrived, without waiting:
 * callers first wait for a later message from the same publisher, and the broker keeps
 * one publisher's QoS 1 messages in order. */
static bool received(struct test_client *c, const char *topic, const char *payload) {
        struct test_message *m = NULL;

        if (test_client_take(c, topic, payload, &m) < 0)
                return false;
        test_message_free(m);
        return true;
}

static json_object *parse_object(const struct test_message *m) {
        json_object *o = json_tokener_parse(m->payload);

        ck_assert_msg(o && json_object_is_type(o, json_type_object),
                      "%s is not a JSON object: %s", m->topic, m->payload);
        return o;
}

/* Waits for a config on `topic` and returns it parsed (caller puts). */
static json_object *wait_config(const char *topic) {
        struct test_message *m = take(ha, topic, NULL);
        json_object *o;

        o = parse_object(m);
        test_message_free(m);
        return o;
}

static const char *str(json_object *o, const char *key) {
        json_object *v;

        ck_assert_msg(json_object_object_get_ex(o, key, &v), "key %s missing", key);
        ck_assert_msg(json_object_is_type(v, json_type_string), "key %s is not a string", key);
        return json_object_get_string(v);
}

/* Every config names this gateway's device and the availability topic and payloads
 * the daemon really uses (checked once against the daemon's own status message). */
static void check_common(json_object *o, bool check_status) {
        json_object *dev, *ids, *avail, *a;

        ck_assert(json_object_object_get_ex(o, "device", &dev));
        ck_assert(json_object_object_get_ex(dev, "identifiers", &ids));
        ck_assert(json_object_is_type(ids, json_type_array));
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(ids, 0)), "iotgwd_t1");
        ck_assert_str_eq(str(dev, "name"), "t1");
        ck_assert_ptr_nonnull(strstr(str(o, "unique_id"), "iotgwd_t1_"));

        ck_assert(json_object_object_get_ex(o, "availability", &avail));
        ck_assert(json_object_is_type(avail, json_type_array));
        a = json_object_array_get_idx(avail, 0);
        ck_assert_str_eq(str(a, "topic"), "iotgw/t1/status");
        ck_assert_str_eq(str(a, "payload_available"), "online");
        ck_assert_str_eq(str(a, "payload_not_available"), "offline");
        if (check_status)
                expect(ha, str(a, "topic"), str(a, "payload_available"));
}

/* Start-up: every entity configured, each pointing at the daemon's real topics. */
START_TEST(test_announce) {
        static const char *const quantities[] = { "temperature", "humidity", "pressure" };
        static const char *const counters[] = { "sent", "dropped", "reconnects", "read_errors", "uptime" };
        struct test_message *m;
        json_object *o, *state, *v;

        start_daemon();

        o = wait_config(CFG("binary_sensor", "door"));
        check_common(o, true);
        ck_assert_str_eq(str(o, "name"), "Front door");
        ck_assert_str_eq(str(o, "device_class"), "door");
        /* the door's real state arrives where the config says, in the config's words */
        expect(ha, str(o, "state_topic"), str(o, "payload_off"));
        sim("set gpiochip0 GPIO17 1", "ok");
        expect(ha, str(o, "state_topic"), str(o, "payload_on"));
        json_object_put(o);

        o = wait_config(CFG("switch", "relay"));
        check_common(o, false);
        ck_assert_str_eq(str(o, "device_class"), "outlet");
        expect(ha, str(o, "state_topic"), str(o, "state_off"));
        /* what Home Assistant sends on the command topic switches the line */
        ck_assert_int_eq(test_client_publish(ha, str(o, "command_topic"), str(o, "payload_on"), 1, false), 0);
        expect(ha, str(o, "state_topic"), str(o, "state_on"));
        sim("get gpiochip0 GPIO27", "1");
        ck_assert_int_eq(test_client_publish(ha, str(o, "command_topic"), str(o, "payload_off"), 1, false), 0);
        expect(ha, str(o, "state_topic"), str(o, "state_off"));
        sim("get gpiochip0 GPIO27", "0");
        json_object_put(o);

        /* each quantity's value_template names a key of the sensor's real JSON state */
        for (size_t i = 0; i < sizeof(quantities) / sizeof(quantities[0]); i++) {
                char topic[128], tmpl[64];

                snprintf(topic, sizeof(topic), CFG("sensor", "climate_%s"), quantities[i]);
                snprintf(tmpl, sizeof(tmpl), "{{ value_json.%s }}", quantities[i]);
                o = wait_config(topic);
                check_common(o, false);
                ck_assert_str_eq(str(o, "value_template"), tmpl);
                ck_assert_str_eq(str(o, "state_class"), "measurement");
                m = take(ha, str(o, "state_topic"), NULL);
                state = parse_object(m);
                ck_assert_msg(json_object_object_get_ex(state, quantities[i], &v),
                              "state lacks %s: %s", quantities[i], m->payload);
                ck_assert(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int));
                json_object_put(state);
                test_message_free(m);
                json_object_put(o);
        }

        /* the gateway's statistics read keys that BASE/stats really has */
        o = wait_config(CFG("sensor", "gateway_uptime"));
        check_common(o, false);
        ck_assert_str_eq(str(o, "entity_category"), "diagnostic");
        m = take(ha, str(o, "state_topic"), NULL);
        state = parse_object(m);
        for (size_t i = 0; i < sizeof(counters) / sizeof(counters[0]); i++)
                ck_assert_msg(json_object_object_get_ex(state, counters[i], NULL),
                              "stats lack %s: %s", counters[i], m->payload);
        json_object_put(state);
        test_message_free(m);
        json_object_put(o);

        /* the hidden input has no config: it would have come before the lamp's */
        json_object_put(wait_config(CFG("switch", "lamp")));
        ck_assert(!received(ha, CFG("binary_sensor", "tamper"), NULL));
}
END_TEST

/* Configs are retained: a Home Assistant that starts later finds them all. */
START_TEST(test_retained) {
        struct test_client *late;

        start_daemon();
        json_object_put(wait_config(CFG("switch", "lamp")));
        ck_assert_int_eq(test_client_new(test_broker_port(broker), &late), 0);
        ck_assert_int_eq(test_client_subscribe(late, "homeassistant/+/t1/+/config"), 0);
        static const char *const topics[] = {
                CFG("binary_sensor", "door"), CFG("switch", "relay"),
                CFG("sensor", "climate_temperature"), CFG("sensor", "gateway_sent"),
        };
        for (size_t i = 0; i < sizeof(topics) / sizeof(topics[0]); i++) {
                struct test_message *m = take(late, topics[i], NULL);

                /* only a retained message reaches a subscriber that came afterwards */
                ck_assert_msg(m->retain, "%s not retained", topics[i]);
                ck_assert_uint_gt(m->len, 0);
                test_message_free(m);
        }
        test_client_free(late);
}
END_TEST

/* Home Assistant's birth message makes the daemon announce everything again. */
START_TEST(test_birth_reannounce) {
        start_daemon();
        json_object_put(wait_config(CFG("binary_sensor", "door")));
        json_object_put(wait_config(CFG("switch", "relay")));
        json_object_put(wait_config(CFG("switch", "lamp")));

        ck_assert_int_eq(test_client_publish(ha, "homeassistant/status", "online", 1, false), 0);
        json_object_put(wait_config(CFG("binary_sensor", "door")));
        json_object_put(wait_config(CFG("switch", "relay")));
        json_object_put(wait_config(CFG("sensor", "gateway_uptime")));
}
END_TEST

/* A flood of birth messages makes one re-announcement, not one each. */
START_TEST(test_birth_flood_coalesced) {
        struct test_message *m;
        int n = 0;

        start_daemon();
        json_object_put(wait_config(CFG("switch", "relay")));
        for (int i = 0; i < 200; i++)
                ck_assert_int_eq(test_client_publish(ha, "homeassistant/status", "online", 0, false), 0);
        json_object_put(wait_config(CFG("switch", "relay")));
        /* Whatever else was announced by then came in that one announcement; a
         * second one would follow within its delay (1 s) plus the log's own. */
        daemon_assert(&daemon_, daemon_wait_log(&daemon_, "Home Assistant is online", WAIT_MS) == 0);
        while (test_client_wait(ha, CFG("switch", "relay"), NULL, 3 * 1000 * UINT64_C(1000), &m) == 0) {
                test_message_free(m);
                n++;
        }
        ck_assert_msg(n <= 1, "%d more announcements after a flood of 200 birth messages", n);
}
END_TEST

/* A reload without the lamp clears its config with an empty retained message. */
START_TEST(test_reload_removes) {
        struct test_client *late;
        struct test_message *m;

        start_daemon();
        json_object_put(wait_config(CFG("switch", "lamp")));
        json_object_put(wait_config(CFG("switch", "relay")));
        json_object_put(wait_config(CFG("sensor", "climate_temperature")));

        ck_assert_int_eq(daemon_write_conf(&daemon_, BOARD_NO_LAMP), 0);
        daemon_notify_reset(&daemon_);
        ck_assert_int_eq(daemon_signal(&daemon_, SIGHUP), 0);
        m = take(ha, CFG("switch", "lamp"), "");
        ck_assert_uint_eq(m->len, 0);
        test_message_free(m);
        daemon_assert(&daemon_, daemon_wait_notify(&daemon_, "READY=1", WAIT_MS) == 0);
        /* the others are announced again (after the removals: same publisher, in
         * order), and none of them was removed on the way, not even the sensor's
         * quantities, whose entities Home Assistant would otherwise delete */
        json_object_put(wait_config(CFG("switch", "relay")));
        json_object_put(wait_config(CFG("sensor", "gateway_uptime")));
        ck_assert(!received(ha, CFG("switch", "relay"), ""));
        ck_assert(!received(ha, CFG("binary_sensor", "door"), ""));
        ck_assert(!received(ha, CFG("sensor", "climate_temperature"), ""));
        ck_assert(!received(ha, CFG("sensor", "climate_humidity"), ""));

        /* nothing retained remains for the lamp: a new client subscribes to the lamp's
         * config, then to the relay's; mosquitto answers subscriptions in order, so a
         * retained lamp config would have arrived before the relay's */
        ck_assert_int_eq(test_client_new(test_broker_port(broker), &late), 0);
        ck_assert_int_eq(test_client_subscribe(late, CFG("switch", "lamp")), 0);
        ck_assert_int_eq(test_client_subscribe(late, CFG("switch", "relay")), 0);
        expect(late, CFG("switch", "relay"), NULL);
        ck_assert(!received(late, CFG("switch", "lamp"), NULL));
        test_client_free(late);
}
END_TEST

static Suite *discovery_suite(void) {
        Suite *s = suite_create("discovery-integration");
        TCase *tc = tcase_create("daemon");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 90);
        tcase_add_test(tc, test_announce);
        tcase_add_test(tc, test_retained);
        tcase_add_test(tc, test_birth_reannounce);
        tcase_add_test(tc, test_birth_flood_coalesced);
        tcase_add_test(tc, test_reload_removes);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        const char *mosquitto = getenv("IOTGWD_TEST_MOSQUITTO") ?: "/usr/sbin/mosquitto";
        SRunner *sr;
        int failed;

        if (access(mosquitto, X_OK) < 0) {
                fprintf(stderr, "%s not found, skipping\n", mosquitto);
                return 77;
        }
        sr = srunner_create(discovery_suite());

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for daemon/discovery.c: every emitted Home Assistant config is parsed back
 * with json-c and checked key by key against the topics the daemon publishes on. */
#include <check.h>
#include <json-c/json.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "discovery.h"
#include "macro.h"

#define MAX_EMITTED 64

struct emitted {
        char *topic;
        char *payload;
        size_t len;
};

struct collector {
        struct emitted e[MAX_EMITTED];
        size_t n;
        int fail_at;            /* 1-based index of the call that fails, 0: none */
        int calls;
};

static int collect(void *userdata, const char *topic, const char *payload, size_t len) {
        struct collector *c = userdata;

        c->calls++;
        if (c->fail_at == c->calls)
                return -EIO;
        ck_assert_uint_lt(c->n, MAX_EMITTED);
        ck_assert_ptr_nonnull(payload);
        ck_assert_uint_eq(strlen(payload), len);
        c->e[c->n].topic = strdup(topic);
        c->e[c->n].payload = strdup(payload);
        c->e[c->n].len = len;
        c->n++;
        return 0;
}

static void collector_clear(struct collector *c) {
        for (size_t i = 0; i < c->n; i++) {
                free(c->e[i].topic);
                free(c->e[i].payload);
        }
        memset(c, 0, sizeof(*c));
}

/* the configuration under test, built by hand */

static const struct quantity_info bme280_q[] = {
        { "temperature", "°C", "temperature", 2 },
        { "humidity", "%", "humidity", 1 },
        { "pressure", "hPa", "pressure", 1 },
};

/* sysfs: one quantity named by the configuration, no device class of its own */
static struct quantity_info sysfs_q[3];

/* Answers like the manager does: by sensor index, from what the drivers report. */
static const struct quantity_info *quantities(void *userdata, size_t i, size_t *n) {
        const struct config *c = userdata;

        ck_assert_uint_lt(i, c->n_sensors);
        if (streq(c->sensors[i].driver, "bme280")) {
                *n = ELEMENTSOF(bme280_q);
                return bme280_q;
        }
        if (streq(c->sensors[i].driver, "sysfs")) {
                ck_assert_uint_lt(i, ELEMENTSOF(sysfs_q));
                sysfs_q[i] = (struct quantity_info) {
                        .name = c->sensors[i].quantity ? c->sensors[i].quantity : "value",
                        .unit = "°C",
                        .decimals = 1,
                };
                *n = 1;
                return &sysfs_q[i];
        }
        *n = 0;
        return NULL;
}

struct fixture {
        struct config config;
        struct config_input inputs[2];
        struct config_output outputs[2];
        struct config_sensor sensors[3];
        char base[128];
        struct discovery_info info;
};

static void fixture_init(struct fixture *f, const char *name) {
        memset(f, 0, sizeof(*f));

        f->inputs[0] = (struct config_input) {
                .name = (char *) "door",
                .ha = { .device_class = (char *) "door", .ha_name = (char *) "Front door",
                        .icon = (char *) "mdi:door", .discovery = true },
        };
        /* hidden from Home Assistant */
        f->inputs[1] = (struct config_input) {
                .name = (char *) "tamper",
                .ha = { .discovery = false },
        };
        f->outputs[0] = (struct config_output) {
                .name = (char *) "relay1",
                .ha = { .device_class = (char *) "outlet", .discovery = true },
        };
        /* an unknown switch device class would make Home Assistant drop the entity */
        f->outputs[1] = (struct config_output) {
                .name = (char *) "heater",
                .ha = { .device_class = (char *) "heat", .icon = (char *) "mdi:radiator",
                        .discovery = true },
        };
        f->sensors[0] = (struct config_sensor) {
                .name = (char *) "climate",
                .driver = (char *) "bme280",
                .ha = { .discovery = true },
        };
        f->sensors[1] = (struct config_sensor) {
                .name = (char *) "cpu",
                .driver = (char *) "sysfs",
                .quantity = (char *) "value",
                .ha = { .device_class = (char *) "temperature", .ha_name = (char *) "CPU temperature",
                        .discovery = true },
        };
        /* a sensor whose quantities the HAL does not know */
        f->sensors[2] = (struct config_sensor) {
                .name = (char *) "ghost",
                .driver = (char *) "nothing",
                .ha = { .discovery = true },
        };

        f->config.name = (char *) name;
        f->config.topic_prefix = (char *) "iotgw";
        f->config.discovery = DISCOVERY_HOMEASSISTANT;
        f->config.discovery_prefix = (char *) "homeassistant";
        f->config.qos = 1;
        f->config.inputs = f->inputs;
        f->config.n_inputs = ELEMENTSOF(f->inputs);
        f->config.outputs = f->outputs;
        f->config.n_outputs = ELEMENTSOF(f->outputs);
        f->config.sensors = f->sensors;
        f->config.n_sensors = ELEMENTSOF(f->sensors);

        snprintf(f->base, sizeof(f->base), "%s/%s", f->config.topic_prefix, name);
        f->info = (struct discovery_info) {
                .config = &f->config,
                .base = f->base,
                .sw_version = "9.8.7",
                .quantities = quantities,
                .userdata = &f->config,
        };
}

/* helpers for checking payloads */

static const struct emitted *find(const struct collector *c, const char *topic) {
        for (size_t i = 0; i < c->n; i++)
                if (streq(c->e[i].topic, topic))
                        return &c->e[i];
        return NULL;
}

static struct json_object *parse(const struct emitted *e) {
        struct json_tokener *tok;
        struct json_object *o;

        ck_assert_ptr_nonnull(e);
        tok = json_tokener_new();
        ck_assert_ptr_nonnull(tok);
        o = json_tokener_parse_ex(tok, e->payload, (int) e->len);
        ck_assert_msg(o && json_tokener_get_error(tok) == json_tokener_success,
                      "payload of %s is not JSON: %s", e->topic, e->payload);
        /* exactly one object, nothing after it */
        ck_assert_uint_eq(json_tokener_get_parse_end(tok), e->len);
        json_tokener_free(tok);
        ck_assert(json_object_is_type(o, json_type_object));
        return o;
}

static struct json_object *get(struct json_object *o, const char *key, enum json_type type) {
        struct json_object *v = NULL;

        ck_assert_msg(json_object_object_get_ex(o, key, &v), "key %s missing", key);
        ck_assert_msg(json_object_is_type(v, type), "key %s has type %s", key,
                      json_type_to_name(json_object_get_type(v)));
        return v;
}

static void check_str(struct json_object *o, const char *key, const char *want) {
        ck_assert_str_eq(json_object_get_string(get(o, key, json_type_string)), want);
}

static void check_int(struct json_object *o, const char *key, int64_t want) {
        ck_assert_int_eq(json_object_get_int64(get(o, key, json_type_int)), want);
}

static void check_bool(struct json_object *o, const char *key, bool want) {
        ck_assert(json_object_get_boolean(get(o, key, json_type_boolean)) == want);
}

static void check_absent(struct json_object *o, const char *key) {
        ck_assert_msg(!json_object_object_get_ex(o, key, NULL), "key %s should be absent", key);
}

/* Only the keys a test expects: a misspelt key would be ignored by Home Assistant. */
static void check_keys(struct json_object *o, const char *const *keys) {
        size_t n = 0;

        for (const char *const *k = keys; *k; k++) {
                ck_assert_msg(json_object_object_get_ex(o, *k, NULL), "key %s missing", *k);
                n++;
        }
        ck_assert_int_eq(json_object_object_length(o), (int) n);
}

/* What every config carries: device, availability, origin, ids. */
static void check_common(struct json_object *o, const struct fixture *f, const char *component,
                         const char *unique_id, const char *entity_id) {
        struct json_object *dev, *ids, *avail, *a, *origin;
        char want[256];
        regex_t re;

        check_str(o, "unique_id", unique_id);
        snprintf(want, sizeof(want), "%s.%s", component, entity_id);
        check_str(o, "default_entity_id", want);
        check_absent(o, "object_id");
        check_int(o, "qos", 1);

        /* Home Assistant rejects the whole config when this is not a valid entity id */
        ck_assert_int_eq(regcomp(&re, "^[a-z0-9]+(_[a-z0-9]+)*\\.[a-z0-9]+(_[a-z0-9]+)*$",
                                 REG_EXTENDED | REG_NOSUB), 0);
        ck_assert_int_eq(regexec(&re, want, 0, NULL, 0), 0);
        regfree(&re);

        dev = get(o, "device", json_type_object);
        ids = get(dev, "identifiers", json_type_array);
        ck_assert_uint_eq(json_object_array_length(ids), 1);
        snprintf(want, sizeof(want), "iotgwd_%s", f->config.name);
        ck_assert(json_object_is_type(json_object_array_get_idx(ids, 0), json_type_string));
        ck_assert_str_eq(json_object_get_string(json_object_array_get_idx(ids, 0)), want);
        check_str(dev, "name", f->config.name);
        check_str(dev, "manufacturer", "iotgwd");
        check_str(dev, "model", "iotgwd gateway");
        check_str(dev, "sw_version", "9.8.7");
        check_keys(dev, (const char *const[]) { "identifiers", "name", "manufacturer", "model",
                                                "sw_version", NULL });

        avail = get(o, "availability", json_type_array);
        ck_assert_uint_eq(json_object_array_length(avail), 1);
        a = json_object_array_get_idx(avail, 0);
        ck_assert(json_object_is_type(a, json_type_object));
        snprintf(want, sizeof(want), "%s/status", f->base);
        check_str(a, "topic", want);
        check_str(a, "payload_available", "online");
        check_str(a, "payload_not_available", "offline");
        check_keys(a, (const char *const[]) { "topic", "payload_available",
                                              "payload_not_available", NULL });

        origin = get(o, "origin", json_type_object);
        check_str(origin, "name", "iotgwd");
        check_str(origin, "sw_version", "9.8.7");
}

static int cmp_str(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* tests */

START_TEST(test_topics) {
        static const char *const want[] = {
                "homeassistant/binary_sensor/pi1/door/config",
                "homeassistant/sensor/pi1/climate_humidity/config",
                "homeassistant/sensor/pi1/climate_pressure/config",
                "homeassistant/sensor/pi1/climate_temperature/config",
                "homeassistant/sensor/pi1/cpu_value/config",
                "homeassistant/sensor/pi1/gateway_dropped/config",
                "homeassistant/sensor/pi1/gateway_read_errors/config",
                "homeassistant/sensor/pi1/gateway_reconnects/config",
                "homeassistant/sensor/pi1/gateway_sent/config",
                "homeassistant/sensor/pi1/gateway_uptime/config",
                "homeassistant/switch/pi1/heater/config",
                "homeassistant/switch/pi1/relay1/config",
        };
        struct fixture f;
        struct collector c = {};
        char *got[MAX_EMITTED];

        fixture_init(&f, "pi1");
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);
        ck_assert_uint_eq(c.n, ELEMENTSOF(want));
        for (size_t i = 0; i < c.n; i++)
                got[i] = c.e[i].topic;
        qsort(got, c.n, sizeof(got[0]), cmp_str);
        for (size_t i = 0; i < c.n; i++)
                ck_assert_str_eq(got[i], want[i]);
        /* no config for the hidden input, nor for the sensor of unknown quantities */
        for (size_t i = 0; i < c.n; i++) {
                ck_assert_ptr_null(strstr(c.e[i].topic, "tamper"));
                ck_assert_ptr_null(strstr(c.e[i].topic, "ghost"));
        }
        collector_clear(&c);
}
END_TEST

START_TEST(test_binary_sensor) {
        struct fixture f;
        struct collector c = {};
        struct json_object *o;

        fixture_init(&f, "pi1");
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);
        o = parse(find(&c, "homeassistant/binary_sensor/pi1/door/config"));
        check_common(o, &f, "binary_sensor", "iotgwd_pi1_door", "pi1_door");
        check_str(o, "name", "Front door");
        check_str(o, "state_topic", "iotgw/pi1/door/state");
        check_str(o, "payload_on", "ON");
        check_str(o, "payload_off", "OFF");
        check_str(o, "device_class", "door");
        check_str(o, "icon", "mdi:door");
        check_keys(o, (const char *const[]) { "name", "unique_id", "default_entity_id", "qos",
                                              "device", "availability", "origin", "state_topic",
                                              "payload_on", "payload_off", "device_class", "icon",
                                              NULL });
        json_object_put(o);
        collector_clear(&c);
}
END_TEST

START_TEST(test_binary_sensor_defaults) {
        struct fixture f;
        struct collector c = {};
        struct json_object *o;

        fixture_init(&f, "pi1");
        f.inputs[0].ha = (struct config_ha) { .discovery = true };
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);
        o = parse(find(&c, "homeassistant/binary_sensor/pi1/door/config"));
        /* no ha keys: the entity's own name, no device class, no icon */
        check_str(o, "name", "door");
        check_absent(o, "device_class");
        check_absent(o, "icon");
        check_str(o, "unique_id", "iotgwd_pi1_door");
        json_object_put(o);
        collector_clear(&c);
}
END_TEST

START_TEST(test_switch) {
        struct fixture f;
        struct collector c = {};
        struct json_object *o;

        fixture_init(&f, "pi1");
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);

        o = parse(find(&c, "homeassistant/switch/pi1/relay1/config"));
        check_common(o, &f, "switch", "iotgwd_pi1_relay1", "pi1_relay1");
        check_str(o, "name", "relay1");
        check_str(o, "state_topic", "iotgw/pi1/relay1/state");
        check_str(o, "command_topic", "iotgw/pi1/relay1/set");
        check_str(o, "payload_on", "ON");
        check_str(o, "payload_off", "OFF");
        check_str(o, "state_on", "ON");
        check_str(o, "state_off", "OFF");
        check_bool(o, "optimistic", false);
        check_str(o, "device_class", "outlet");
        check_absent(o, "icon");
        check_keys(o, (const char *const[]) { "name", "unique_id", "default_entity_id", "qos",
                                              "device", "availability", "origin", "state_topic",
                                              "command_topic", "payload_on", "payload_off",
                                              "state_on", "state_off", "optimistic",
                                              "device_class", NULL });
        json_object_put(o);

        o = parse(find(&c, "homeassistant/switch/pi1/heater/config"));
        check_common(o, &f, "switch", "iotgwd_pi1_heater", "pi1_heater");
        check_str(o, "command_topic", "iotgw/pi1/heater/set");
        check_str(o, "icon", "mdi:radiator");
        /* "heat" is not a switch device class: left out rather than losing the entity */
        check_absent(o, "device_class");
        json_object_put(o);
        collector_clear(&c);
}
END_TEST

START_TEST(test_sensor_quantities) {
        static const struct {
                const char *q, *unit, *dc;
                int decimals;
        } want[] = {
                { "temperature", "°C", "temperature", 2 },
                { "humidity", "%", "humidity", 1 },
                { "pressure", "hPa", "pressure", 1 },
        };
        struct fixture f;
        struct collector c = {};

        fixture_init(&f, "pi1");
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);
        for (size_t i = 0; i < ELEMENTSOF(want); i++) {
                char topic[128], uid[64], eid[64], name[64], tmpl[64];
                struct json_object *o;

                snprintf(topic, sizeof(topic), "homeassistant/sensor/pi1/climate_%s/config", want[i].q);
                snprintf(uid, sizeof(uid), "iotgwd_pi1_climate_%s", want[i].q);
                snprintf(eid, sizeof(eid), "pi1_climate_%s", want[i].q);
                snprintf(name, sizeof(name), "climate %s", want[i].q);
                snprintf(tmpl, sizeof(tmpl), "{{ value_json.%s }}", want[i].q);

                o = parse(find(&c, topic));
                check_common(o, &f, "sensor", uid, eid);
                check_str(o, "name", name);
                check_str(o, "state_topic", "iotgw/pi1/climate/state");
                check_str(o, "value_template", tmpl);
                check_str(o, "unit_of_measurement", want[i].unit);
                check_str(o, "device_class", want[i].dc);
                check_str(o, "state_class", "measurement");
                check_int(o, "suggested_display_precision", want[i].decimals);
                check_absent(o, "expire_after");
                check_absent(o, "entity_category");
                check_keys(o, (const char *const[]) { "name", "unique_id", "default_entity_id",
                                                      "qos", "device", "availability", "origin",
                                                      "state_topic", "value_template",
                                                      "unit_of_measurement", "device_class",
                                                      "state_class",
                                                      "suggested_display_precision", NULL });
                json_object_put(o);
        }
        collector_clear(&c);
}
END_TEST

START_TEST(test_sensor_sysfs) {
        struct fixture f;
        struct collector c = {};
        struct json_object *o;

        fixture_init(&f, "pi1");
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);
        o = parse(find(&c, "homeassistant/sensor/pi1/cpu_value/config"));
        check_common(o, &f, "sensor", "iotgwd_pi1_cpu_value", "pi1_cpu_value");
        /* one quantity: the entity's name alone; the device class from the config */
        check_str(o, "name", "CPU temperature");
        check_str(o, "state_topic", "iotgw/pi1/cpu/state");
        check_str(o, "value_template", "{{ value_json.value }}");
        check_str(o, "unit_of_measurement", "°C");
        check_str(o, "device_class", "temperature");
        check_str(o, "state_class", "measurement");
        check_int(o, "suggested_display_precision", 1);
        json_object_put(o);

        /* without a configured device class there is none */
        collector_clear(&c);
        f.sensors[1].ha.device_class = NULL;
        f.sensors[1].ha.ha_name = NULL;
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);
        o = parse(find(&c, "homeassistant/sensor/pi1/cpu_value/config"));
        check_str(o, "name", "cpu");
        check_absent(o, "device_class");
        json_object_put(o);
        collector_clear(&c);
}
END_TEST

START_TEST(test_sensor_ha_name_prefix) {
        struct fixture f;
        struct collector c = {};
        struct json_object *o;

        /* a configured name replaces the entity name in front of each quantity; a device
         * class configured on a multi-quantity sensor does not override the driver's */
        fixture_init(&f, "pi1");
        f.sensors[0].ha.ha_name = (char *) "Living room";
        f.sensors[0].ha.device_class = (char *) "voltage";
        f.sensors[0].ha.icon = (char *) "mdi:home-thermometer";
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);
        o = parse(find(&c, "homeassistant/sensor/pi1/climate_humidity/config"));
        check_str(o, "name", "Living room humidity");
        check_str(o, "device_class", "humidity");
        check_str(o, "icon", "mdi:home-thermometer");
        check_str(o, "unique_id", "iotgwd_pi1_climate_humidity");
        json_object_put(o);
        collector_clear(&c);
}
END_TEST

START_TEST(test_stats) {
        static const char *const counters[] = { "sent", "dropped", "reconnects", "read_errors", "uptime" };
        struct fixture f;
        struct collector c = {};

        fixture_init(&f, "pi1");
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);
        for (size_t i = 0; i < ELEMENTSOF(counters); i++) {
                char topic[128], uid[64], eid[64], tmpl[64];
                struct json_object *o;
                bool uptime = streq(counters[i], "uptime");

                snprintf(topic, sizeof(topic), "homeassistant/sensor/pi1/gateway_%s/config", counters[i]);
                snprintf(uid, sizeof(uid), "iotgwd_pi1_gateway_%s", counters[i]);
                snprintf(eid, sizeof(eid), "pi1_gateway_%s", counters[i]);
                snprintf(tmpl, sizeof(tmpl), "{{ value_json.%s }}", counters[i]);

                o = parse(find(&c, topic));
                check_common(o, &f, "sensor", uid, eid);
                ck_assert_uint_gt(strlen(json_object_get_string(get(o, "name", json_type_string))), 0);
                check_str(o, "state_topic", "iotgw/pi1/stats");
                check_str(o, "value_template", tmpl);
                check_str(o, "entity_category", "diagnostic");
                check_str(o, "state_class", "total_increasing");
                if (uptime) {
                        check_str(o, "unit_of_measurement", "s");
                        check_str(o, "device_class", "duration");
                } else {
                        check_absent(o, "unit_of_measurement");
                        check_absent(o, "device_class");
                }
                json_object_put(o);
        }
        collector_clear(&c);
}
END_TEST

START_TEST(test_discovery_none) {
        struct fixture f;
        struct collector c = {};
        char **topics = (char **) 0x1;
        size_t n = 42;

        fixture_init(&f, "pi1");
        f.config.discovery = DISCOVERY_NONE;
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);
        ck_assert_int_eq(c.calls, 0);
        ck_assert_int_eq(discovery_topics(&f.info, &topics, &n), 0);
        ck_assert_uint_eq(n, 0);
        ck_assert_ptr_null(topics);
        discovery_free_topics(topics, n);
}
END_TEST

START_TEST(test_discovery_false_everywhere) {
        struct fixture f;
        struct collector c = {};

        /* an output and a sensor hidden as well: only the rest remains */
        fixture_init(&f, "pi1");
        f.outputs[1].ha.discovery = false;
        f.sensors[0].ha.discovery = false;
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);
        ck_assert_ptr_null(find(&c, "homeassistant/switch/pi1/heater/config"));
        ck_assert_ptr_null(find(&c, "homeassistant/sensor/pi1/climate_temperature/config"));
        ck_assert_ptr_nonnull(find(&c, "homeassistant/switch/pi1/relay1/config"));
        ck_assert_uint_eq(c.n, 12 - 1 - 3);
        collector_clear(&c);
}
END_TEST

START_TEST(test_stable_and_unique) {
        struct fixture f;
        struct collector a = {}, b = {};
        char *uids[MAX_EMITTED];

        fixture_init(&f, "pi1");
        ck_assert_int_eq(discovery_announce(&f.info, collect, &a), 0);
        ck_assert_int_eq(discovery_announce(&f.info, collect, &b), 0);
        ck_assert_uint_eq(a.n, b.n);
        for (size_t i = 0; i < a.n; i++) {
                struct json_object *o;

                /* byte for byte the same: a re-announce changes nothing in HA */
                ck_assert_str_eq(a.e[i].topic, b.e[i].topic);
                ck_assert_str_eq(a.e[i].payload, b.e[i].payload);
                o = parse(&a.e[i]);
                uids[i] = strdup(json_object_get_string(get(o, "unique_id", json_type_string)));
                json_object_put(o);
        }
        qsort(uids, a.n, sizeof(uids[0]), cmp_str);
        for (size_t i = 1; i < a.n; i++)
                ck_assert_str_ne(uids[i - 1], uids[i]);
        for (size_t i = 0; i < a.n; i++)
                free(uids[i]);
        collector_clear(&a);
        collector_clear(&b);
}
END_TEST

START_TEST(test_gateways_distinct) {
        struct fixture f1, f2;
        struct collector a = {}, b = {};

        fixture_init(&f1, "pi1");
        fixture_init(&f2, "pi2");
        ck_assert_int_eq(discovery_announce(&f1.info, collect, &a), 0);
        ck_assert_int_eq(discovery_announce(&f2.info, collect, &b), 0);
        ck_assert_uint_eq(a.n, b.n);
        for (size_t i = 0; i < a.n; i++) {
                struct json_object *o1 = parse(&a.e[i]);

                for (size_t j = 0; j < b.n; j++) {
                        struct json_object *o2 = parse(&b.e[j]), *d1, *d2;

                        ck_assert_str_ne(a.e[i].topic, b.e[j].topic);
                        ck_assert_str_ne(json_object_get_string(get(o1, "unique_id", json_type_string)),
                                         json_object_get_string(get(o2, "unique_id", json_type_string)));
                        ck_assert_str_ne(json_object_get_string(get(o1, "default_entity_id", json_type_string)),
                                         json_object_get_string(get(o2, "default_entity_id", json_type_string)));
                        d1 = get(get(o1, "device", json_type_object), "identifiers", json_type_array);
                        d2 = get(get(o2, "device", json_type_object), "identifiers", json_type_array);
                        ck_assert_str_ne(json_object_get_string(json_object_array_get_idx(d1, 0)),
                                         json_object_get_string(json_object_array_get_idx(d2, 0)));
                        json_object_put(o2);
                }
                json_object_put(o1);
        }
        collector_clear(&a);
        collector_clear(&b);
}
END_TEST

START_TEST(test_topics_match_announce) {
        struct fixture f;
        struct collector c = {};
        char **topics = NULL;
        char *got[MAX_EMITTED];
        size_t n = 0;

        fixture_init(&f, "pi1");
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);
        ck_assert_int_eq(discovery_topics(&f.info, &topics, &n), 0);
        ck_assert_uint_eq(n, c.n);
        for (size_t i = 0; i < c.n; i++)
                got[i] = c.e[i].topic;
        qsort(got, c.n, sizeof(got[0]), cmp_str);
        for (size_t i = 0; i < n; i++) {
                ck_assert_str_eq(topics[i], got[i]);
                if (i > 0)
                        ck_assert_int_lt(strcmp(topics[i - 1], topics[i]), 0);
        }
        discovery_free_topics(topics, n);
        collector_clear(&c);
}
END_TEST

START_TEST(test_remove_stale_lists) {
        char *old[] = { (char *) "a", (char *) "b", (char *) "c", (char *) "d", (char *) "f" };
        char *new[] = { (char *) "b", (char *) "d", (char *) "e" };
        struct collector c = {};

        ck_assert_int_eq(discovery_remove_stale(old, ELEMENTSOF(old), new, ELEMENTSOF(new), collect, &c), 0);
        ck_assert_uint_eq(c.n, 3);
        ck_assert_str_eq(c.e[0].topic, "a");
        ck_assert_str_eq(c.e[1].topic, "c");
        ck_assert_str_eq(c.e[2].topic, "f");
        for (size_t i = 0; i < c.n; i++) {
                ck_assert_uint_eq(c.e[i].len, 0);
                ck_assert_str_eq(c.e[i].payload, "");
        }
        collector_clear(&c);

        /* nothing new: everything goes; nothing old: nothing goes */
        ck_assert_int_eq(discovery_remove_stale(old, ELEMENTSOF(old), NULL, 0, collect, &c), 0);
        ck_assert_uint_eq(c.n, ELEMENTSOF(old));
        collector_clear(&c);
        ck_assert_int_eq(discovery_remove_stale(NULL, 0, new, ELEMENTSOF(new), collect, &c), 0);
        ck_assert_int_eq(c.calls, 0);
        ck_assert_int_eq(discovery_remove_stale(new, ELEMENTSOF(new), new, ELEMENTSOF(new), collect, &c), 0);
        ck_assert_int_eq(c.calls, 0);

        /* a failing emit does not stop the rest, and its error comes back */
        c.fail_at = 2;
        ck_assert_int_eq(discovery_remove_stale(old, ELEMENTSOF(old), new, ELEMENTSOF(new), collect, &c), -EIO);
        ck_assert_int_eq(c.calls, 3);
        ck_assert_uint_eq(c.n, 2);
        ck_assert_str_eq(c.e[0].topic, "a");
        ck_assert_str_eq(c.e[1].topic, "f");
        collector_clear(&c);
}
END_TEST

START_TEST(test_remove_stale_reload) {
        struct fixture f;
        struct collector c = {};
        char **old = NULL, **new = NULL;
        size_t n_old = 0, n_new = 0;

        /* a reload drops the relay and hides the climate sensor */
        fixture_init(&f, "pi1");
        ck_assert_int_eq(discovery_topics(&f.info, &old, &n_old), 0);
        f.outputs[0] = f.outputs[1];
        f.config.n_outputs = 1;
        f.sensors[0].ha.discovery = false;
        ck_assert_int_eq(discovery_topics(&f.info, &new, &n_new), 0);
        ck_assert_uint_eq(n_new, n_old - 4);

        ck_assert_int_eq(discovery_remove_stale(old, n_old, new, n_new, collect, &c), 0);
        ck_assert_uint_eq(c.n, 4);
        ck_assert_str_eq(c.e[0].topic, "homeassistant/sensor/pi1/climate_humidity/config");
        ck_assert_str_eq(c.e[1].topic, "homeassistant/sensor/pi1/climate_pressure/config");
        ck_assert_str_eq(c.e[2].topic, "homeassistant/sensor/pi1/climate_temperature/config");
        ck_assert_str_eq(c.e[3].topic, "homeassistant/switch/pi1/relay1/config");
        for (size_t i = 0; i < c.n; i++)
                ck_assert_uint_eq(c.e[i].len, 0);
        collector_clear(&c);

        /* switching discovery off removes every config */
        f.config.discovery = DISCOVERY_NONE;
        discovery_free_topics(new, n_new);
        ck_assert_int_eq(discovery_topics(&f.info, &new, &n_new), 0);
        ck_assert_int_eq(discovery_remove_stale(old, n_old, new, n_new, collect, &c), 0);
        ck_assert_uint_eq(c.n, n_old);
        collector_clear(&c);

        discovery_free_topics(old, n_old);
        discovery_free_topics(new, n_new);
}
END_TEST

START_TEST(test_announce_emit_failure) {
        struct fixture f;
        struct collector c = { .fail_at = 1 };

        fixture_init(&f, "pi1");
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), -EIO);
        /* the others still went out */
        ck_assert_uint_eq(c.n, 11);
        collector_clear(&c);
}
END_TEST

START_TEST(test_custom_prefix_and_names) {
        struct fixture f;
        struct collector c = {};
        struct json_object *o;

        /* characters a topic level or an entity id cannot hold are replaced */
        fixture_init(&f, "Pi.Lab 2");
        f.config.discovery_prefix = (char *) "ha";
        f.inputs[0].name = (char *) "Door-Back";
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), 0);
        o = parse(find(&c, "ha/binary_sensor/Pi_Lab_2/Door-Back/config"));
        check_common(o, &f, "binary_sensor", "iotgwd_Pi.Lab 2_Door-Back", "pi_lab_2_door_back");
        check_str(o, "state_topic", "iotgw/Pi.Lab 2/Door-Back/state");
        json_object_put(o);
        ck_assert_ptr_nonnull(find(&c, "ha/sensor/Pi_Lab_2/gateway_uptime/config"));
        collector_clear(&c);
}
END_TEST

START_TEST(test_topic_clash) {
        struct fixture f;
        char **topics = NULL;
        size_t n = 0;

        /* "a.b" and "a_b" would share one config topic */
        fixture_init(&f, "pi1");
        f.inputs[0].name = (char *) "a.b";
        f.inputs[1].name = (char *) "a_b";
        f.inputs[1].ha.discovery = true;
        ck_assert_int_eq(discovery_topics(&f.info, &topics, &n), -ENOTUNIQ);
        ck_assert_ptr_null(topics);

        /* a sensor named "gateway" with a quantity "sent" clashes with the statistics */
        fixture_init(&f, "pi1");
        f.sensors[1].name = (char *) "gateway";
        f.sensors[1].quantity = (char *) "sent";
        ck_assert_int_eq(discovery_topics(&f.info, &topics, &n), -ENOTUNIQ);
        ck_assert_ptr_null(topics);

        /* the same names in different components do not clash */
        fixture_init(&f, "pi1");
        f.inputs[0].name = (char *) "gateway_sent";
        f.outputs[0].name = (char *) "climate_humidity";
        ck_assert_int_eq(discovery_topics(&f.info, &topics, &n), 0);
        ck_assert_uint_eq(n, 12);
        discovery_free_topics(topics, n);
}
END_TEST

START_TEST(test_birth) {
        struct fixture f;

        fixture_init(&f, "pi1");
        ck_assert(discovery_is_birth(&f.config, "homeassistant/status", "online", 6));
        ck_assert(!discovery_is_birth(&f.config, "homeassistant/status", "offline", 7));
        ck_assert(!discovery_is_birth(&f.config, "homeassistant/status", "onlinex", 7));
        ck_assert(!discovery_is_birth(&f.config, "homeassistant/status", "onlin", 5));
        ck_assert(!discovery_is_birth(&f.config, "homeassistant/statusx", "online", 6));
        ck_assert(!discovery_is_birth(&f.config, "iotgw/pi1/status", "online", 6));
        f.config.discovery_prefix = (char *) "ha";
        ck_assert(discovery_is_birth(&f.config, "ha/status", "online", 6));
        ck_assert(!discovery_is_birth(&f.config, "homeassistant/status", "online", 6));
        f.config.discovery = DISCOVERY_NONE;
        ck_assert(!discovery_is_birth(&f.config, "ha/status", "online", 6));
}
END_TEST

START_TEST(test_invalid) {
        struct fixture f;
        struct collector c = {};
        char **topics = NULL;
        size_t n = 0;

        fixture_init(&f, "pi1");
        f.info.base = NULL;
        ck_assert_int_eq(discovery_announce(&f.info, collect, &c), -EINVAL);
        ck_assert_int_eq(discovery_topics(&f.info, &topics, &n), -EINVAL);
        ck_assert_int_eq(c.calls, 0);
        ck_assert_int_eq(discovery_announce(NULL, collect, &c), -EINVAL);
}
END_TEST

static Suite *discovery_suite(void) {
        Suite *s = suite_create("discovery");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_topics);
        tcase_add_test(tc, test_binary_sensor);
        tcase_add_test(tc, test_binary_sensor_defaults);
        tcase_add_test(tc, test_switch);
        tcase_add_test(tc, test_sensor_quantities);
        tcase_add_test(tc, test_sensor_sysfs);
        tcase_add_test(tc, test_sensor_ha_name_prefix);
        tcase_add_test(tc, test_stats);
        tcase_add_test(tc, test_discovery_none);
        tcase_add_test(tc, test_discovery_false_everywhere);
        tcase_add_test(tc, test_stable_and_unique);
        tcase_add_test(tc, test_gateways_distinct);
        tcase_add_test(tc, test_topics_match_announce);
        tcase_add_test(tc, test_remove_stale_lists);
        tcase_add_test(tc, test_remove_stale_reload);
        tcase_add_test(tc, test_announce_emit_failure);
        tcase_add_test(tc, test_custom_prefix_and_names);
        tcase_add_test(tc, test_topic_clash);
        tcase_add_test(tc, test_birth);
        tcase_add_test(tc, test_invalid);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(discovery_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

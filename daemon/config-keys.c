/* SPDX-License-Identifier: MIT */
/* The keys of each configuration section and their strict value parsers.
 *
 * One table per section kind maps a key to a parser and the field it fills;
 * sensor keys also say which drivers they belong to, so that the loader can
 * reject a key meant for another driver once it knows the sensor's driver. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config-internal.h"

static const char *const driver_names[] = {
        "sysfs", "ds18b20", "bme280", "bmp280", "sht3x", "bh1750", "ads1115", NULL,
};

/* names and topics */

bool config_isempty(const char *s) {
        return !s || s[0] == '\0';
}

bool config_is_name_char(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

bool config_name_valid(const char *s, size_t max) {
        size_t n = strlen(s);

        if (n == 0 || n > max)
                return false;
        for (; *s; s++)
                if (!config_is_name_char(*s))
                        return false;
        return true;
}

bool config_name_reserved(const char *s) {
        /* Topics of the gateway itself, beside the entities' own. */
        return streq(s, "status") || streq(s, "stats") || streq(s, "error");
}

/* One or more topic levels: no wildcards, no empty level, no blanks, and not
 * starting with '$', which brokers keep for themselves ($SYS). */
static bool topic_prefix_valid(const char *s) {
        size_t n = strlen(s);
        bool level_empty = true;

        if (n == 0 || n > TOPIC_PREFIX_MAX || s[0] == '$')
                return false;

        for (; *s; s++) {
                if (*s == '/') {
                        if (level_empty)
                                return false;
                        level_empty = true;
                        continue;
                }
                if (*s == '+' || *s == '#' || *s == ' ' || *s == '\t')
                        return false;
                level_empty = false;
        }
        return !level_empty;
}

int config_driver_bit(const char *driver) {
        for (size_t i = 0; driver_names[i]; i++)
                if (streq(driver, driver_names[i]))
                        return (int) (1u << i);
        return 0;
}

/* key parsers */

static void *field(void *base, const struct key_def *k) {
        return (uint8_t *) base + k->offset;
}

static void store_uint(void *p, enum field_type type, uint64_t v) {
        switch (type) {
        case FIELD_BOOL:
                *(bool *) p = v != 0;
                break;
        case FIELD_INT:
                *(int *) p = (int) v;
                break;
        case FIELD_UNSIGNED:
                *(unsigned *) p = (unsigned) v;
                break;
        case FIELD_SIZE:
                *(size_t *) p = (size_t) v;
                break;
        case FIELD_U64:
                *(uint64_t *) p = v;
                break;
        }
}

static int bad_value(struct loader *l, const struct key_def *k, const char *value, const char *expected) {
        config_loader_error(l, "invalid value '%s' for '%s': expected %s", value, k->name, expected);
        return -EINVAL;
}

int config_set_string(struct loader *l, char **p, const char *value) {
        char *s;

        s = strdup(value);
        if (!s) {
                config_loader_oom(l);
                return -ENOMEM;
        }
        free(*p);
        *p = s;
        return 0;
}

static int key_string(struct loader *l, const struct key_def *k, const char *value, void *base) {
        if (config_isempty(value))
                return bad_value(l, k, value, "a non-empty string");
        return config_set_string(l, field(base, k), value);
}

/* A string without blanks, e.g. a host name, a line name or an icon. */
static int key_word(struct loader *l, const struct key_def *k, const char *value, void *base) {
        if (config_isempty(value) || strpbrk(value, " \t"))
                return bad_value(l, k, value, "a non-empty string without blanks");
        return config_set_string(l, field(base, k), value);
}

static int key_path(struct loader *l, const struct key_def *k, const char *value, void *base) {
        if (value[0] != '/')
                return bad_value(l, k, value, "an absolute path");
        return config_set_string(l, field(base, k), value);
}

/* One of k->choices, kept as the string itself. */
static int key_choice_string(struct loader *l, const struct key_def *k, const char *value, void *base) {
        for (size_t i = 0; k->choices[i]; i++)
                if (streq(value, k->choices[i]))
                        return config_set_string(l, field(base, k), value);

        /* List the choices: they are short, and the message is what the user reads. */
        char expected[160] = "one of";
        for (size_t i = 0; k->choices[i]; i++) {
                size_t n = strlen(expected);
                snprintf(expected + n, sizeof(expected) - n, " %s", k->choices[i]);
        }
        return bad_value(l, k, value, expected);
}

/* One of k->choices, stored as its index. */
static int key_choice(struct loader *l, const struct key_def *k, const char *value, void *base) {
        for (size_t i = 0; k->choices[i]; i++)
                if (streq(value, k->choices[i])) {
                        store_uint(field(base, k), k->type, i);
                        return 0;
                }

        char expected[160] = "one of";
        for (size_t i = 0; k->choices[i]; i++) {
                size_t n = strlen(expected);
                snprintf(expected + n, sizeof(expected) - n, " %s", k->choices[i]);
        }
        return bad_value(l, k, value, expected);
}

static int key_bool(struct loader *l, const struct key_def *k, const char *value, void *base) {
        bool b;

        if (parse_boolean(value, &b) < 0)
                return bad_value(l, k, value, "a boolean (yes/no, true/false, on/off, 1/0)");
        *(bool *) field(base, k) = b;
        return 0;
}

static int key_uint(struct loader *l, const struct key_def *k, const char *value, void *base) {
        char expected[96];
        uint64_t v;

        if (parse_uint_range(value, k->min, k->max, &v) < 0) {
                snprintf(expected, sizeof(expected), "an integer from %" PRIu64 " to %" PRIu64,
                         k->min, k->max);
                return bad_value(l, k, value, expected);
        }
        store_uint(field(base, k), k->type, v * MAX(k->scale, UINT64_C(1)));
        return 0;
}

/* The address of an I²C chip, in the 7-bit range that is not reserved. */
static int key_address(struct loader *l, const struct key_def *k, const char *value, void *base) {
        uint64_t v;

        if (parse_uint_range(value, k->min, k->max, &v) < 0)
                return bad_value(l, k, value, "a 7-bit I2C address from 0x03 to 0x77");
        *(int *) field(base, k) = (int) v;
        return 0;
}

static void format_duration(char *buf, size_t size, uint64_t usec) {
        if (usec % (86400 * USEC_PER_SEC) == 0 && usec > 0)
                snprintf(buf, size, "%" PRIu64 "d", usec / (86400 * USEC_PER_SEC));
        else if (usec % (3600 * USEC_PER_SEC) == 0 && usec > 0)
                snprintf(buf, size, "%" PRIu64 "h", usec / (3600 * USEC_PER_SEC));
        else if (usec % (60 * USEC_PER_SEC) == 0 && usec > 0)
                snprintf(buf, size, "%" PRIu64 "min", usec / (60 * USEC_PER_SEC));
        else if (usec % USEC_PER_SEC == 0)
                snprintf(buf, size, "%" PRIu64 "s", usec / USEC_PER_SEC);
        else if (usec % USEC_PER_MSEC == 0)
                snprintf(buf, size, "%" PRIu64 "ms", usec / USEC_PER_MSEC);
        else
                snprintf(buf, size, "%" PRIu64 "us", usec);
}

/* A duration in [min, max] microseconds, stored divided by k->scale (which must
 * then divide it: keepalive is whole seconds). */
static int key_duration(struct loader *l, const struct key_def *k, const char *value, void *base) {
        uint64_t scale = MAX(k->scale, UINT64_C(1)), v;
        char expected[128], lo[32], hi[32];

        if (parse_duration(value, &v) < 0 || v < k->min || v > k->max || v % scale != 0) {
                format_duration(lo, sizeof(lo), k->min);
                format_duration(hi, sizeof(hi), k->max);
                snprintf(expected, sizeof(expected), "a duration from %s to %s%s (e.g. 500ms, 10s, 5min)",
                         lo, hi, scale == USEC_PER_SEC ? " in whole seconds" : "");
                return bad_value(l, k, value, expected);
        }
        store_uint(field(base, k), k->type, v / scale);
        return 0;
}

static int key_size(struct loader *l, const struct key_def *k, const char *value, void *base) {
        char expected[96];
        uint64_t v;

        if (parse_size(value, &v) < 0 || v < k->min || v > k->max) {
                snprintf(expected, sizeof(expected), "a size in bytes from %" PRIu64 " to %" PRIu64
                         ", optionally with K, M or G", k->min, k->max);
                return bad_value(l, k, value, expected);
        }
        store_uint(field(base, k), k->type, v);
        return 0;
}

static int key_double(struct loader *l, const struct key_def *k, const char *value, void *base) {
        double d;

        if (parse_double(value, &d) < 0)
                return bad_value(l, k, value, "a decimal number");
        *(double *) field(base, k) = d;
        return 0;
}

static int key_double_nonnegative(struct loader *l, const struct key_def *k, const char *value, void *base) {
        double d;

        if (parse_double(value, &d) < 0 || d < 0)
                return bad_value(l, k, value, "a decimal number >= 0");
        *(double *) field(base, k) = d;
        return 0;
}

static int key_gateway_name(struct loader *l, const struct key_def *k, const char *value, void *base) {
        if (!config_name_valid(value, GATEWAY_NAME_MAX))
                return bad_value(l, k, value, "letters, digits, '_' and '-' (at most 64)");
        return config_set_string(l, field(base, k), value);
}

static int key_topic_prefix(struct loader *l, const struct key_def *k, const char *value, void *base) {
        if (!topic_prefix_valid(value))
                return bad_value(l, k, value,
                                 "MQTT topic levels separated by '/', without '+', '#', blanks, "
                                 "empty levels or a leading '$'");
        return config_set_string(l, field(base, k), value);
}

static int key_protocol(struct loader *l, const struct key_def *k, const char *value, void *base) {
        enum mqtt_protocol *p = field(base, k);

        if (streq(value, "5"))
                *p = MQTT_PROTOCOL_5;
        else if (streq(value, "3.1.1") || streq(value, "311"))
                *p = MQTT_PROTOCOL_311;
        else
                return bad_value(l, k, value, "5 or 3.1.1");
        return 0;
}

/* "" (no replies), "#" (any topic), or the start of the topics replies may go to. */
static int key_response_prefix(struct loader *l, const struct key_def *k, const char *value, void *base) {
        if (!streq(value, "#") &&
            (strpbrk(value, "+#") || value[0] == '$' || strlen(value) > TOPIC_PREFIX_MAX))
                return bad_value(l, k, value, "a topic prefix without wildcards, \"#\" for any topic, "
                                 "or nothing to disable replies");
        return config_set_string(l, field(base, k), value);
}

static int key_device_class(struct loader *l, const struct key_def *k, const char *value, void *base) {
        if (config_isempty(value) || strspn(value, "abcdefghijklmnopqrstuvwxyz_") != strlen(value))
                return bad_value(l, k, value, "a Home Assistant device class such as 'door' ([a-z_]+)");
        return config_set_string(l, field(base, k), value);
}

static int key_quantity(struct loader *l, const struct key_def *k, const char *value, void *base) {
        if (config_isempty(value) || strspn(value, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(value))
                return bad_value(l, k, value, "lower-case letters, digits and '_'");
        return config_set_string(l, field(base, k), value);
}

/* A 1-Wire DS18B20 id as the kernel names it: family 28, 48-bit serial in hex. */
static int key_ds18b20_device(struct loader *l, const struct key_def *k, const char *value, void *base) {
        if (strlen(value) != 15 || strncmp(value, "28-", 3) != 0 ||
            strspn(value + 3, "0123456789abcdef") != 12)
                return bad_value(l, k, value, "'28-' followed by 12 lower-case hex digits");
        return config_set_string(l, field(base, k), value);
}

static int key_gain(struct loader *l, const struct key_def *k, const char *value, void *base) {
        static const double gains[] = { 6.144, 4.096, 2.048, 1.024, 0.512, 0.256 };
        double d;

        if (parse_double(value, &d) >= 0)
                for (size_t i = 0; i < ELEMENTSOF(gains); i++)
                        if (fabs(d - gains[i]) < 1e-9) {
                                *(double *) field(base, k) = gains[i];
                                return 0;
                        }
        return bad_value(l, k, value, "one of 6.144 4.096 2.048 1.024 0.512 0.256");
}

static int key_data_rate(struct loader *l, const struct key_def *k, const char *value, void *base) {
        static const unsigned rates[] = { 8, 16, 32, 64, 128, 250, 475, 860 };
        uint64_t v;

        if (parse_uint_range(value, 1, 860, &v) >= 0)
                for (size_t i = 0; i < ELEMENTSOF(rates); i++)
                        if (v == rates[i]) {
                                *(int *) field(base, k) = (int) v;
                                return 0;
                        }
        return bad_value(l, k, value, "one of 8 16 32 64 128 250 475 860");
}

/* key tables */

static const char *const hal_choices[] = { "gpiod", "sim", NULL };
static const char *const discovery_choices[] = { "homeassistant", "none", NULL };
static const char *const bias_choices[] = { "as-is", "disable", "pull-up", "pull-down", NULL };
static const char *const edge_choices[] = { "both", "rising", "falling", NULL };
static const char *const on_shutdown_choices[] = { "off", "keep", NULL };
static const char *const retained_choices[] = { "ignore", "apply-once", NULL };
static const char *const publish_choices[] = { "always", "on-change", NULL };

static const struct key_def gateway_keys[] = {
        { "name",               key_gateway_name, offsetof(struct config, name) },
        { "topic_prefix",       key_topic_prefix, offsetof(struct config, topic_prefix) },
        { "hal",                key_choice_string, offsetof(struct config, hal), .choices = hal_choices },
        { "sim_socket",         key_path, offsetof(struct config, sim_socket) },
        { "sim_drift",          key_bool, offsetof(struct config, sim_drift) },
        { "queue_max_messages", key_uint, offsetof(struct config, queue_max_messages), FIELD_SIZE,
          .min = 1, .max = 10000000 },
        { "queue_max_bytes",    key_size, offsetof(struct config, queue_max_bytes), FIELD_SIZE,
          .min = 4096, .max = UINT64_C(1) << 30 },
        { "discovery",          key_choice, offsetof(struct config, discovery), FIELD_INT,
          .choices = discovery_choices },
        { "discovery_prefix",   key_topic_prefix, offsetof(struct config, discovery_prefix) },
        { "stats_interval",     key_duration, offsetof(struct config, stats_interval_usec), FIELD_U64,
          .min = SEC(1), .max = SEC(86400) },
};

static const struct key_def mqtt_keys[] = {
        { "host",               key_word, offsetof(struct config, host) },
        { "port",               key_uint, offsetof(struct config, port), FIELD_UNSIGNED, .min = 1, .max = 65535 },
        { "client_id",          key_word, offsetof(struct config, client_id) },
        { "username",           key_string, offsetof(struct config, username) },
        { "password_file",      key_path, offsetof(struct config, password_file) },
        { "tls_ca_file",        key_path, offsetof(struct config, tls_ca_file) },
        { "tls_cert_file",      key_path, offsetof(struct config, tls_cert_file) },
        { "tls_key_file",       key_path, offsetof(struct config, tls_key_file) },
        { "keepalive",          key_duration, offsetof(struct config, keepalive), FIELD_UNSIGNED,
          .min = SEC(5), .max = SEC(3600), .scale = USEC_PER_SEC },
        { "qos",                key_uint, offsetof(struct config, qos), FIELD_INT, .min = 0, .max = 2 },
        { "protocol",           key_protocol, offsetof(struct config, protocol) },
        { "retained_commands",  key_choice, offsetof(struct config, retained_commands), FIELD_INT,
          .choices = retained_choices },
        { "response_topic_prefix", key_response_prefix, offsetof(struct config, response_topic_prefix) },
};

#define HA_KEYS(type)                                                                           \
        { "device_class",       key_device_class, offsetof(type, ha.device_class) },            \
        { "name",               key_string, offsetof(type, ha.ha_name) },                       \
        { "icon",               key_word, offsetof(type, ha.icon) },                            \
        { "discovery",          key_bool, offsetof(type, ha.discovery) }

static const struct key_def input_keys[] = {
        { "chip",               key_word, offsetof(struct config_input, chip), .required = true },
        { "line",               key_word, offsetof(struct config_input, line), .required = true },
        { "bias",               key_choice, offsetof(struct config_input, bias), FIELD_INT,
          .choices = bias_choices },
        { "active_low",         key_bool, offsetof(struct config_input, active_low) },
        { "debounce_ms",        key_uint, offsetof(struct config_input, debounce_usec), FIELD_U64,
          .min = 0, .max = 60000, .scale = USEC_PER_MSEC },
        { "edge",               key_choice, offsetof(struct config_input, edge), FIELD_INT,
          .choices = edge_choices },
        HA_KEYS(struct config_input),
};

static const struct key_def output_keys[] = {
        { "chip",               key_word, offsetof(struct config_output, chip), .required = true },
        { "line",               key_word, offsetof(struct config_output, line), .required = true },
        { "active_low",         key_bool, offsetof(struct config_output, active_low) },
        { "initial",            key_bool, offsetof(struct config_output, initial) },
        { "on_shutdown",        key_choice, offsetof(struct config_output, on_shutdown_keep), FIELD_BOOL,
          .choices = on_shutdown_choices },
        { "max_pulse_ms",       key_uint, offsetof(struct config_output, max_pulse_usec), FIELD_U64,
          .min = 1, .max = 86400000, .scale = USEC_PER_MSEC },
        HA_KEYS(struct config_output),
};

static const struct key_def sensor_keys[] = {
        { "driver",             key_choice_string, offsetof(struct config_sensor, driver),
          .choices = driver_names, .required = true },
        { "interval",           key_duration, offsetof(struct config_sensor, interval_usec), FIELD_U64,
          .min = 100 * USEC_PER_MSEC, .max = SEC(7 * 86400) },
        { "publish",            key_choice, offsetof(struct config_sensor, publish), FIELD_INT,
          .choices = publish_choices },
        { "deadband",           key_double_nonnegative, offsetof(struct config_sensor, deadband) },
        { "max_silence",        key_duration, offsetof(struct config_sensor, max_silence_usec), FIELD_U64,
          .min = SEC(1), .max = SEC(7 * 86400) },
        { "decimals",           key_uint, offsetof(struct config_sensor, decimals), FIELD_INT,
          .min = 0, .max = 6 },
        HA_KEYS(struct config_sensor),
        /* driver keys */
        { "path",               key_path, offsetof(struct config_sensor, path), .drivers = DRIVER_SYSFS },
        { "scale",              key_double, offsetof(struct config_sensor, scale), .drivers = DRIVER_SYSFS },
        { "offset",             key_double, offsetof(struct config_sensor, offset), .drivers = DRIVER_SYSFS },
        { "unit",               key_string, offsetof(struct config_sensor, unit), .drivers = DRIVER_SYSFS },
        { "quantity",           key_quantity, offsetof(struct config_sensor, quantity), .drivers = DRIVER_SYSFS },
        { "device",             key_ds18b20_device, offsetof(struct config_sensor, device),
          .drivers = DRIVER_DS18B20 },
        { "bus",                key_path, offsetof(struct config_sensor, bus), .drivers = DRIVER_I2C },
        { "address",            key_address, offsetof(struct config_sensor, address),
          .min = 0x03, .max = 0x77, .drivers = DRIVER_I2C },
        { "gain",               key_gain, offsetof(struct config_sensor, gain), .drivers = DRIVER_ADS1115 },
        { "data_rate",          key_data_rate, offsetof(struct config_sensor, data_rate),
          .drivers = DRIVER_ADS1115 },
};

_Static_assert(ELEMENTSOF(gateway_keys) <= KEYS_MAX, "seen[] too small");
_Static_assert(ELEMENTSOF(mqtt_keys) <= KEYS_MAX, "seen[] too small");
_Static_assert(ELEMENTSOF(input_keys) <= KEYS_MAX, "seen[] too small");
_Static_assert(ELEMENTSOF(output_keys) <= KEYS_MAX, "seen[] too small");
_Static_assert(ELEMENTSOF(sensor_keys) <= KEYS_MAX, "seen[] too small");

const char *config_section_kind_name(enum section_kind kind) {
        switch (kind) {
        case SECTION_GATEWAY:
                return "gateway";
        case SECTION_MQTT:
                return "mqtt";
        case SECTION_INPUT:
                return "input";
        case SECTION_OUTPUT:
                return "output";
        case SECTION_SENSOR:
                return "sensor";
        default:
                return "?";
        }
}

ssize_t config_key_index(const struct key_def *keys, size_t n, const char *name) {
        for (size_t i = 0; i < n; i++)
                if (streq(keys[i].name, name))
                        return (ssize_t) i;
        return -1;
}

const struct key_def *config_keys(enum section_kind kind, size_t *ret_n) {
        switch (kind) {
        case SECTION_GATEWAY:
                *ret_n = ELEMENTSOF(gateway_keys);
                return gateway_keys;
        case SECTION_MQTT:
                *ret_n = ELEMENTSOF(mqtt_keys);
                return mqtt_keys;
        case SECTION_INPUT:
                *ret_n = ELEMENTSOF(input_keys);
                return input_keys;
        case SECTION_OUTPUT:
                *ret_n = ELEMENTSOF(output_keys);
                return output_keys;
        case SECTION_SENSOR:
                *ret_n = ELEMENTSOF(sensor_keys);
                return sensor_keys;
        default:
                *ret_n = 0;
                return NULL;
        }
}

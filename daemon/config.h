/* SPDX-License-Identifier: MIT */
/* The parsed configuration: iotgwd.conf plus the conf.d drop-ins, validated.
 * Pure data; nothing here touches hardware or the network. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal.h"
#include "macro.h"

/* SYSCONFDIR and RUNSTATEDIR come from configure (--sysconfdir, --runstatedir; the
 * Debian build passes /etc and /run); the fallbacks are for a compile outside it. */
#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef RUNSTATEDIR
#define RUNSTATEDIR "/run"
#endif
#define CONFIG_DEFAULT_PATH SYSCONFDIR "/iotgwd/iotgwd.conf"
#define SIM_SOCKET_DEFAULT_PATH RUNSTATEDIR "/iotgwd/sim.sock"

/* Exit status for a configuration error; the unit lists it in RestartPreventExitStatus=. */
#define EXIT_CONFIG 78   /* EX_CONFIG */

enum mqtt_protocol {
        MQTT_PROTOCOL_5,
        MQTT_PROTOCOL_311,
};

enum discovery_mode {
        DISCOVERY_HOMEASSISTANT,
        DISCOVERY_NONE,
};

/* What a retained message on a command topic does (key retained_commands). */
enum retained_commands {
        RETAINED_COMMANDS_IGNORE,       /* logged once per topic, never applied */
        RETAINED_COMMANDS_APPLY_ONCE,   /* applied at the first connect after start only */
};

enum publish_policy {
        PUBLISH_ALWAYS,
        PUBLISH_ON_CHANGE,
};

/* Per-entity Home Assistant keys. NULL: derived from the entity. */
struct config_ha {
        char *device_class;
        char *ha_name;            /* key "name" */
        char *icon;
        bool discovery;           /* key "discovery", default true */
};

/* Where a section was defined, for messages that point back at the file. */
struct config_origin {
        const char *file;         /* owned by struct config (files[]) */
        unsigned line;
};

struct config_input {
        char *name;
        char *chip;
        char *line;
        enum hal_bias bias;       /* default HAL_BIAS_AS_IS */
        bool active_low;
        enum hal_edge edge;       /* default HAL_EDGE_BOTH */
        uint64_t debounce_usec;   /* key debounce_ms, default 0 */
        struct config_ha ha;
        struct config_origin origin;
};

struct config_output {
        char *name;
        char *chip;
        char *line;
        bool active_low;
        bool initial;             /* key initial = on|off, default off */
        bool on_shutdown_keep;    /* key on_shutdown = off|keep, default off */
        uint64_t max_pulse_usec;  /* key max_pulse_ms, default 60000 ms */
        struct config_ha ha;
        struct config_origin origin;
};

struct config_sensor {
        char *name;
        char *driver;
        uint64_t interval_usec;   /* key interval, default 60s */
        enum publish_policy publish;
        double deadband;          /* on-change: absolute, default 0 */
        uint64_t max_silence_usec;/* on-change: republish at least this often, default 15min */
        /* driver keys, see struct hal_sensor_config */
        char *path;
        double scale;             /* default 1 */
        double offset;            /* default 0 */
        char *unit;
        char *quantity;           /* default "value" */
        int decimals;             /* key decimals, default -1 (driver's) */
        char *device;
        char *bus;                /* default /dev/i2c-1 */
        int address;              /* default -1 (chip default) */
        double gain;              /* default 2.048 */
        int data_rate;            /* default 128 */
        struct config_ha ha;
        struct config_origin origin;
};

struct config {
        /* [gateway] */
        char *name;               /* default: hostname */
        char *topic_prefix;       /* default "iotgw" */
        char *hal;                /* "gpiod" (default) or "sim" */
        char *sim_socket;         /* default SIM_SOCKET_DEFAULT_PATH */
        bool sim_drift;           /* default false */
        size_t queue_max_messages;/* default 10000 */
        size_t queue_max_bytes;   /* default 4 MiB */
        enum discovery_mode discovery;  /* default homeassistant */
        char *discovery_prefix;   /* default "homeassistant" */
        uint64_t stats_interval_usec;   /* default 60s */

        /* [mqtt] */
        char *host;               /* default "localhost" */
        unsigned port;            /* default 1883, 8883 with TLS */
        char *client_id;          /* default "iotgwd-<name>" */
        char *username;
        char *password_file;
        char *password;           /* read from password_file at load time */
        char *tls_ca_file;
        char *tls_cert_file;
        char *tls_key_file;
        unsigned keepalive;       /* seconds, default 60 */
        int qos;                  /* default 1 */
        enum mqtt_protocol protocol;    /* default MQTT_PROTOCOL_5 */
        enum retained_commands retained_commands;  /* default ignore */
        /* MQTT 5 response topics accepted: NULL (default) means BASE/reply/, "" none,
         * "#" any topic (an explicit opt-in), else this prefix. */
        char *response_topic_prefix;
        /* Where the TLS keys were set, for the file checks' messages. */
        struct config_origin tls_ca_origin, tls_cert_origin, tls_key_origin;

        struct config_input *inputs;
        size_t n_inputs;
        struct config_output *outputs;
        size_t n_outputs;
        struct config_sensor *sensors;
        size_t n_sensors;

        char **files;             /* every file read, in order */
        size_t n_files;
};

/* Every problem found, each "FILE:LINE: message" (LINE 0 when not tied to a line). */
struct config_errors {
        char **messages;
        size_t n;
};

/** Loads `path`, then every `*.conf` in the directory `conf.d` beside it, in lexical
 * order (later values win). Returns 0 and *ret, or -EINVAL with every problem in
 * *errors (and other -errno for failures that are not the file's fault, also
 * described in *errors). *errors must be zero-initialised; free with
 * config_errors_clear(). */
int config_load(const char *path, struct config **ret, struct config_errors *errors);
struct config *config_free(struct config *config);
DEFINE_TRIVIAL_CLEANUP_FUNC(struct config *, config_free);
void config_errors_clear(struct config_errors *errors);
/** Appends "FILE:LINE: message" to *errors; -ENOMEM when it cannot. */
_printf_(4, 5)
int config_errors_add(struct config_errors *errors, const char *file, unsigned line,
                      const char *format, ...);

/** What start-up would reject beyond the file's syntax: that the TLS files can be
 * loaded (CA, certificate, key, and that the key matches the certificate), and that
 * no sensor reads a path that exists but is not a regular file. Every
 * problem is added to *errors with the FILE:LINE of its key; returns -EINVAL if any
 * (config-files.c). */
int config_check_files(const struct config *config, struct config_errors *errors);

/* Strict value parsers, exposed for the tests and for command payloads. */
/** "500ms", "10s", "5min", "1h", "250us"; a bare number is seconds. No overflow, no junk. */
int parse_duration(const char *s, uint64_t *ret_usec);
/** "yes/no/true/false/on/off/1/0". */
int parse_boolean(const char *s, bool *ret);
/** Decimal (or 0x hex) unsigned integer in [min, max]. */
int parse_uint_range(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
/** A finite double, no junk. */
int parse_double(const char *s, double *ret);
/** A byte count: decimal digits, optionally followed by K, M or G (powers of 1024). */
int parse_size(const char *s, uint64_t *ret);

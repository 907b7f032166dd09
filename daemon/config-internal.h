/* SPDX-License-Identifier: MIT */
/* Private to the configuration loader (config.c) and its key tables
 * (config-keys.c): the loader's state, the key table format, and the helpers the
 * two share. Not for use elsewhere: the public interface is config.h. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "config.h"
#include "macro.h"

#define ENTITY_NAME_MAX 40
#define GATEWAY_NAME_MAX 64
#define TOPIC_PREFIX_MAX 128
#define PASSWORD_MAX 65535
/* inih copies section names into a 50-byte buffer and would truncate silently. */
#define SECTION_HEADER_MAX 49
#define KEYS_MAX 32

#define SEC(n) ((uint64_t) (n) * USEC_PER_SEC)

enum section_kind {
        SECTION_NONE,             /* before the first header */
        SECTION_SKIP,             /* a header with an error: its keys are ignored */
        SECTION_GATEWAY,
        SECTION_MQTT,
        SECTION_INPUT,
        SECTION_OUTPUT,
        SECTION_SENSOR,
};

enum field_type {
        FIELD_BOOL,
        FIELD_INT,
        FIELD_UNSIGNED,
        FIELD_SIZE,
        FIELD_U64,
};

/* Sensor drivers, as bits, so a key can say which drivers it belongs to. */
enum {
        DRIVER_SYSFS   = 1u << 0,
        DRIVER_DS18B20 = 1u << 1,
        DRIVER_BME280  = 1u << 2,
        DRIVER_BMP280  = 1u << 3,
        DRIVER_SHT3X   = 1u << 4,
        DRIVER_BH1750  = 1u << 5,
        DRIVER_ADS1115 = 1u << 6,
        DRIVER_I2C     = DRIVER_BME280 | DRIVER_BMP280 | DRIVER_SHT3X | DRIVER_BH1750 | DRIVER_ADS1115,
};

/* Where a key was last set; file NULL: never. */
struct key_seen {
        const char *file;
        unsigned line;
};

struct entity_seen {
        struct key_seen key[KEYS_MAX];
};

struct loader;
struct key_def;

typedef int (*key_parser_t)(struct loader *l, const struct key_def *k, const char *value, void *base);

struct key_def {
        const char *name;
        key_parser_t parse;
        size_t offset;
        enum field_type type;
        uint64_t min, max;
        uint64_t scale;                 /* ms -> usec, usec -> s */
        const char *const *choices;     /* NULL-terminated, index = stored value */
        unsigned drivers;               /* sensor keys: drivers it is valid for, 0: all */
        bool required;
};

struct loader {
        struct config *config;
        struct config_errors *errors;
        int error;                      /* first failure that is not the file's fault */
        bool failed;

        /* reading */
        FILE *f;
        const char *file;
        unsigned line;
        char *buf;
        size_t bufsize;

        /* the section being read */
        enum section_kind section;
        size_t entity;

        struct key_seen gateway_seen[KEYS_MAX];
        struct key_seen mqtt_seen[KEYS_MAX];
        struct entity_seen *input_seen;
        struct entity_seen *output_seen;
        struct entity_seen *sensor_seen;
};

/* The loader's error list (config.c). */
void config_loader_oom(struct loader *l);
_printf_(4, 5)
void config_loader_error_at(struct loader *l, const char *file, unsigned line, const char *format, ...);
/* An error on the line being read. */
_printf_(2, 3)
void config_loader_error(struct loader *l, const char *format, ...);

/* Names, strings and tables (config-keys.c). */
bool config_isempty(const char *s);
bool config_is_name_char(char c);
bool config_name_valid(const char *s, size_t max);
bool config_name_reserved(const char *s);
/* The DRIVER_* bit of a driver name, 0 if unknown. */
int config_driver_bit(const char *driver);
/* Replaces *p by a copy of value; -ENOMEM (recorded) on failure. */
int config_set_string(struct loader *l, char **p, const char *value);
const char *config_section_kind_name(enum section_kind kind);
/* The key table of a section kind (gateway, mqtt, input, output, sensor). */
const struct key_def *config_keys(enum section_kind kind, size_t *ret_n);
ssize_t config_key_index(const struct key_def *keys, size_t n, const char *name);


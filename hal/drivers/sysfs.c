/* SPDX-License-Identifier: MIT */
/* The generic sysfs sensor: one number from a file, scaled (value = raw * scale +
 * offset) and reported as the quantity and unit the configuration names. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "driver.h"
#include "log.h"
#include "macro.h"
#include "sysfs.h"

static bool is_space(char ch) {
        return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f';
}

int sysfs_parse_number(const char *text, size_t len, double *ret) {
        const char *p, *end;
        bool negative = false;
        double v = 0.0, scale = 1.0;
        size_t digits = 0;

        if (!text || !ret)
                return -EINVAL;
        p = text;
        end = text + len;

        while (p < end && is_space(*p))
                p++;
        while (end > p && is_space(end[-1]))
                end--;

        if (p < end && (*p == '-' || *p == '+')) {
                negative = *p == '-';
                p++;
        }
        /* Digits by hand rather than strtod(): no locale decimal point, no exponents,
         * no hex floats, nothing the kernel would not print. */
        for (; p < end && *p >= '0' && *p <= '9'; p++, digits++)
                v = v * 10.0 + (*p - '0');
        if (p < end && *p == '.') {
                p++;
                for (; p < end && *p >= '0' && *p <= '9'; p++, digits++) {
                        scale /= 10.0;
                        v += (*p - '0') * scale;
                }
        }
        if (digits == 0 || p != end || !isfinite(v))
                return -EBADMSG;

        *ret = negative ? -v : v;
        return 0;
}

/* file I/O */

#define DEFAULT_DECIMALS 2

struct sysfs_state {
        double scale, offset;
        char buf[128];
};

/* Home Assistant device classes of the quantities with fixed names. */
static const char *device_class_of(const char *quantity) {
        static const struct { const char *quantity, *device_class; } table[] = {
                { "temperature", "temperature" },
                { "humidity",    "humidity" },
                { "pressure",    "atmospheric_pressure" },
                { "illuminance", "illuminance" },
                { "voltage",     "voltage" },
        };

        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (streq_ptr(quantity, table[i].quantity))
                        return table[i].device_class;
        return NULL;
}

void sysfs_describe(const struct hal_sensor_config *c, struct quantity_info *q) {
        *q = (struct quantity_info) {
                .name = c->quantity ? c->quantity : "value",
                .unit = c->unit,
                .device_class = device_class_of(c->quantity),
                .decimals = c->decimals >= 0 ? c->decimals : DEFAULT_DECIMALS,
        };
}

static int sysfs_init(struct sensor_ctx *ctx) {
        const struct hal_sensor_config *c = ctx->config;
        struct sysfs_state *s;

        if (!c->path || c->path[0] != '/')
                return log_entity_full(LOG_ERR, EINVAL, c->name, NULL,
                                       "%s: sysfs sensor needs an absolute path", c->name);
        if (!isfinite(c->scale) || !isfinite(c->offset))
                return log_entity_full(LOG_ERR, EINVAL, c->name, NULL,
                                       "%s: scale and offset must be finite", c->name);

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        /* A scale of 0 would make every reading the offset: take it as "not set". */
        s->scale = c->scale != 0.0 ? c->scale : 1.0;
        s->offset = c->offset;
        ctx->data = s;

        sysfs_describe(c, &ctx->quantities[0]);
        ctx->n_quantities = 1;
        return 0;
}

static int sysfs_path(const struct hal_sensor_config *c, char *buf, size_t size) {
        int n;

        if (!c->path || c->path[0] != '/')
                return -EINVAL;
        n = snprintf(buf, size, "%s", c->path);
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        return 0;
}

static int sysfs_read(struct sensor_ctx *ctx, struct reading *out, uint64_t *retry_usec) {
        struct sysfs_state *s = ctx->data;
        double raw, v;
        int n, r;

        n = ctx->file_read(ctx->file_userdata, ctx->config->path, s->buf, sizeof(s->buf));
        if (n < 0)
                return n;
        r = sysfs_parse_number(s->buf, (size_t) n, &raw);
        if (r < 0)
                return r;
        v = raw * s->scale + s->offset;
        if (!isfinite(v))
                return -EBADMSG;

        out->n = 1;
        out->value[0] = v;
        return 1;
}

static void sysfs_free(struct sensor_ctx *ctx) {
        ctx->data = mfree(ctx->data);
}

/* The quantity comes from the configuration (sysfs_init). */
static const struct quantity_info sysfs_quantities[] = {
        { "value", NULL, NULL, DEFAULT_DECIMALS },
};

const struct sensor_driver sensor_driver_sysfs = {
        .name = "sysfs",
        .transport = SENSOR_TRANSPORT_FILE,
        .quantities = sysfs_quantities,
        .n_quantities = ELEMENTSOF(sysfs_quantities),
        .init = sysfs_init,
        .read = sysfs_read,
        .path = sysfs_path,
        .free = sysfs_free,
};

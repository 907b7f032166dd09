/* SPDX-License-Identifier: MIT */
/* DS18B20 through the kernel's w1_therm: reading w1_slave makes the kernel start a
 * conversion, wait for it and print the scratchpad with its CRC verdict and the
 * temperature in millidegrees. This file decodes that text strictly. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver.h"
#include "ds18b20.h"
#include "log.h"
#include "macro.h"

uint8_t ds18b20_crc8(const uint8_t *buf, size_t len) {
        uint8_t crc = 0;

        for (size_t i = 0; i < len; i++) {
                crc ^= buf[i];
                for (unsigned b = 0; b < 8; b++)
                        crc = (uint8_t) (crc & 1 ? (crc >> 1) ^ 0x8c : crc >> 1);
        }
        return crc;
}

/* A cursor over text that is not NUL-terminated. */
struct cursor {
        const char *p, *end;
};

static bool skip_literal(struct cursor *c, const char *lit) {
        size_t n = strlen(lit);

        if ((size_t) (c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
                return false;
        c->p += n;
        return true;
}

static int hex_digit(char ch) {
        if (ch >= '0' && ch <= '9')
                return ch - '0';
        if (ch >= 'a' && ch <= 'f')
                return ch - 'a' + 10;
        if (ch >= 'A' && ch <= 'F')
                return ch - 'A' + 10;
        return -1;
}

static bool parse_hex_byte(struct cursor *c, uint8_t *ret) {
        int hi, lo;

        if (c->end - c->p < 2)
                return false;
        hi = hex_digit(c->p[0]);
        lo = hex_digit(c->p[1]);
        if (hi < 0 || lo < 0)
                return false;
        *ret = (uint8_t) (hi << 4 | lo);
        c->p += 2;
        return true;
}

/* "xx xx xx xx xx xx xx xx xx " */
static bool parse_scratchpad(struct cursor *c, uint8_t bytes[DS18B20_SCRATCHPAD_LEN]) {
        for (size_t i = 0; i < DS18B20_SCRATCHPAD_LEN; i++)
                if (!parse_hex_byte(c, &bytes[i]) || !skip_literal(c, " "))
                        return false;
        return true;
}

/* An optional '-' and 1..7 digits: millidegrees never need more. */
static bool parse_millis(struct cursor *c, long *ret) {
        bool negative = skip_literal(c, "-");
        long v = 0;
        size_t n = 0;

        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
                if (++n > 7)
                        return false;
                v = v * 10 + (*c->p - '0');
                c->p++;
        }
        if (n == 0)
                return false;
        *ret = negative ? -v : v;
        return true;
}

int ds18b20_decode(const char *text, size_t len, struct reading *out) {
        uint8_t line1[DS18B20_SCRATCHPAD_LEN], line2[DS18B20_SCRATCHPAD_LEN], crc;
        struct cursor c;
        long millis;

        if (!text || !out)
                return -EINVAL;
        c = (struct cursor) { text, text + len };

        if (!parse_scratchpad(&c, line1) ||
            !skip_literal(&c, ": crc=") || !parse_hex_byte(&c, &crc) || !skip_literal(&c, " "))
                return -EBADMSG;
        if (skip_literal(&c, "NO"))
                return -EBADMSG;      /* the kernel saw a CRC mismatch */
        if (!skip_literal(&c, "YES\n"))
                return -EBADMSG;

        if (!parse_scratchpad(&c, line2) || !skip_literal(&c, "t=") || !parse_millis(&c, &millis))
                return -EBADMSG;
        /* Only a final newline may follow. */
        skip_literal(&c, "\n");
        if (c.p != c.end)
                return -EBADMSG;

        /* Both lines print the same scratchpad; check its CRC ourselves rather than
         * trusting "YES" from a driver or a file that is not the kernel's. */
        if (memcmp(line1, line2, sizeof(line1)) != 0 ||
            ds18b20_crc8(line1, 8) != line1[8] || crc != line1[8])
                return -EBADMSG;

        /* 85 °C is the temperature register's power-on value (datasheet, table 2): a
         * sensor that browned out or missed its conversion returns it with a good CRC.
         * A real 85 °C is indistinguishable but far outside what a gateway measures,
         * so treat it as a failed reading; the next one will normally succeed. */
        if (millis == 85000)
                return -EBADMSG;
        if (millis < -55000 || millis > 125000)
                return -EBADMSG;

        out->n = 1;
        out->value[0] = (double) millis / 1000.0;
        return 0;
}

/* file I/O */

struct ds18b20_state {
        char path[256];
        char buf[256];       /* two lines of about 40 characters */
};

static int ds18b20_path(const struct hal_sensor_config *c, char *buf, size_t size) {
        int n;

        /* The device name becomes a path component: refuse anything that would
         * leave the 1-Wire directory. */
        if (!c->device || !c->device[0] || strchr(c->device, '/') ||
            streq(c->device, ".") || streq(c->device, ".."))
                return -EINVAL;

        n = snprintf(buf, size, DS18B20_W1_DIR "/%s/w1_slave", c->device);
        if (n < 0 || (size_t) n >= size)
                return -ENAMETOOLONG;
        return 0;
}

static int ds18b20_init(struct sensor_ctx *ctx) {
        const struct hal_sensor_config *c = ctx->config;
        struct ds18b20_state *s;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        ctx->data = s;

        r = ds18b20_path(c, s->path, sizeof(s->path));
        if (r == -EINVAL)
                return log_entity_full(LOG_ERR, EINVAL, c->name, NULL,
                                       "%s: invalid 1-Wire device name \"%s\"", c->name,
                                       c->device ? c->device : "");
        if (r < 0)
                return log_entity_full(LOG_ERR, ENAMETOOLONG, c->name, NULL,
                                       "%s: 1-Wire device name too long", c->name);
        return 0;
}

static int ds18b20_read(struct sensor_ctx *ctx, struct reading *out, uint64_t *retry_usec) {
        struct ds18b20_state *s = ctx->data;
        int n, r;

        n = ctx->file_read(ctx->file_userdata, s->path, s->buf, sizeof(s->buf));
        if (n < 0)
                return n;
        r = ds18b20_decode(s->buf, (size_t) n, out);
        if (r < 0)
                return r;
        return 1;
}

static void ds18b20_free(struct sensor_ctx *ctx) {
        ctx->data = mfree(ctx->data);
}

static const struct quantity_info ds18b20_quantities[] = {
        QUANTITY_TEMPERATURE(1),
};

const struct sensor_driver sensor_driver_ds18b20 = {
        .name = "ds18b20",
        .transport = SENSOR_TRANSPORT_FILE,
        .quantities = ds18b20_quantities,
        .n_quantities = ELEMENTSOF(ds18b20_quantities),
        .init = ds18b20_init,
        .read = ds18b20_read,
        .path = ds18b20_path,
        .free = ds18b20_free,
};

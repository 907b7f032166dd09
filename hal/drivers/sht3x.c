/* SPDX-License-Identifier: MIT */
/* Sensirion SHT3x over plain I2C (its 16-bit commands and bare reads are not SMBus).
 *
 * A reading sends a single-shot command without clock stretching, returns 0 for the
 * conversion time, then reads the six result bytes. Without clock stretching a chip
 * still converting NACKs the read, which surfaces as an error and restarts the cycle. */
#include <errno.h>
#include <stdlib.h>

#include "driver.h"
#include "log.h"
#include "macro.h"
#include "sht3x.h"

uint8_t sht3x_crc8(const uint8_t *buf, size_t len) {
        uint8_t crc = 0xff;

        for (size_t i = 0; i < len; i++) {
                crc ^= buf[i];
                for (unsigned b = 0; b < 8; b++)
                        crc = (uint8_t) (crc & 0x80 ? (crc << 1) ^ 0x31 : crc << 1);
        }
        return crc;
}

int sht3x_decode(const uint8_t *buf, size_t len, struct reading *out) {
        uint16_t st, srh;

        if (!buf || !out)
                return -EINVAL;
        if (len != SHT3X_DATA_LEN)
                return -EBADMSG;
        if (sht3x_crc8(buf, 2) != buf[2] || sht3x_crc8(buf + 3, 2) != buf[5])
                return -EBADMSG;

        st = (uint16_t) (buf[0] << 8 | buf[1]);
        srh = (uint16_t) (buf[3] << 8 | buf[4]);

        /* Datasheet 4.13: T = -45 + 175 St / (2^16 - 1), RH = 100 Srh / (2^16 - 1). */
        out->n = 2;
        out->value[0] = -45.0 + 175.0 * (double) st / 65535.0;
        out->value[1] = 100.0 * (double) srh / 65535.0;
        return 0;
}

/* bus I/O */

/* Datasheet table 4: 15.5 ms at most for high repeatability. */
#define MEASURE_USEC (16 * USEC_PER_MSEC)

struct sht3x_state {
        bool measuring;
};

static int sht3x_command(struct i2c_dev *dev, uint16_t cmd) {
        const uint8_t buf[2] = { cmd >> 8, cmd & 0xff };

        return i2c_write(dev, buf, sizeof(buf));
}

static int sht3x_init(struct sensor_ctx *ctx) {
        const char *name = ctx->config->name;
        uint8_t status[3];
        struct sht3x_state *s;
        int r;

        /* The SHT3x has no identification register: a status word with a valid CRC is
         * the best evidence that this address holds one. */
        r = sht3x_command(ctx->i2c, SHT3X_CMD_READ_STATUS);
        if (r < 0)
                return r;
        r = i2c_read(ctx->i2c, status, sizeof(status));
        if (r < 0)
                return r;
        if (sht3x_crc8(status, 2) != status[2])
                return log_entity_full(LOG_ERR, ENODEV, name, NULL,
                                       "%s: device at 0x%02x answers but not like an SHT3x "
                                       "(status word CRC mismatch)", name, ctx->i2c->address);

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        ctx->data = s;
        return 0;
}

static int sht3x_read(struct sensor_ctx *ctx, struct reading *out, uint64_t *retry_usec) {
        struct sht3x_state *s = ctx->data;
        uint8_t buf[SHT3X_DATA_LEN];
        int r;

        if (!s->measuring) {
                r = sht3x_command(ctx->i2c, SHT3X_CMD_MEASURE_HIGH);
                if (r < 0)
                        return r;
                s->measuring = true;
                *retry_usec = MEASURE_USEC;
                return 0;
        }

        /* Whatever happens next, the following call starts a new measurement. */
        s->measuring = false;
        r = i2c_read(ctx->i2c, buf, sizeof(buf));
        if (r < 0)
                return r;
        r = sht3x_decode(buf, sizeof(buf), out);
        if (r < 0)
                return r;
        return 1;
}

static void sht3x_free(struct sensor_ctx *ctx) {
        ctx->data = mfree(ctx->data);
}

static const struct quantity_info sht3x_quantities[] = {
        QUANTITY_TEMPERATURE(2),
        QUANTITY_HUMIDITY(1),
};

const struct sensor_driver sensor_driver_sht3x = {
        .name = "sht3x",
        .transport = SENSOR_TRANSPORT_I2C,
        .default_address = SHT3X_DEFAULT_ADDRESS,
        .quantities = sht3x_quantities,
        .n_quantities = ELEMENTSOF(sht3x_quantities),
        .init = sht3x_init,
        .read = sht3x_read,
        .free = sht3x_free,
};

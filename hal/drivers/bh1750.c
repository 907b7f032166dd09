/* SPDX-License-Identifier: MIT */
/* ROHM BH1750 over I2C: one-byte opcodes as SMBus "send byte", the result as a bare
 * two-byte read (not expressible in SMBus).
 *
 * The chip runs in continuous high-resolution mode: after (re)starting it, the first
 * result is ready after one conversion time; from then on each read returns the
 * latest conversion at once. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

#include "bh1750.h"
#include "driver.h"
#include "macro.h"

int bh1750_decode(const uint8_t *buf, size_t len, struct reading *out) {
        if (!buf || !out)
                return -EINVAL;
        if (len != BH1750_DATA_LEN)
                return -EBADMSG;

        out->n = 1;
        out->value[0] = (double) (buf[0] << 8 | buf[1]) / 1.2;
        return 0;
}

/* Datasheet: high-resolution mode measures in 120 ms typical, 180 ms at most. */
#define MEASURE_USEC (180 * USEC_PER_MSEC)

struct bh1750_state {
        bool started;        /* continuous mode commanded since the last failure */
};

static int bh1750_start(struct i2c_dev *dev) {
        int r;

        r = i2c_write_byte(dev, BH1750_POWER_ON);
        if (r < 0)
                return r;
        return i2c_write_byte(dev, BH1750_CONT_HIGH_RES);
}

static int bh1750_init(struct sensor_ctx *ctx) {
        struct bh1750_state *s;
        int r;

        /* No identification register; an ACKed power-on is all the chip offers. The
         * reset clears a stale result left over from an earlier run. */
        r = i2c_write_byte(ctx->i2c, BH1750_POWER_ON);
        if (r < 0)
                return r;
        r = i2c_write_byte(ctx->i2c, BH1750_RESET);
        if (r < 0)
                return r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        ctx->data = s;
        return 0;
}

static int bh1750_read(struct sensor_ctx *ctx, struct reading *out, uint64_t *retry_usec) {
        struct bh1750_state *s = ctx->data;
        uint8_t buf[BH1750_DATA_LEN];
        int r;

        if (!s->started) {
                /* Power on again too: the chip may have lost power since it failed. */
                r = bh1750_start(ctx->i2c);
                if (r < 0)
                        return r;
                s->started = true;
                *retry_usec = MEASURE_USEC;
                return 0;
        }

        r = i2c_read(ctx->i2c, buf, sizeof(buf));
        if (r >= 0)
                r = bh1750_decode(buf, sizeof(buf), out);
        if (r < 0) {
                s->started = false;
                return r;
        }
        return 1;
}

static void bh1750_free(struct sensor_ctx *ctx) {
        ctx->data = mfree(ctx->data);
}

static const struct quantity_info bh1750_quantities[] = {
        QUANTITY_ILLUMINANCE(1),
};

const struct sensor_driver sensor_driver_bh1750 = {
        .name = "bh1750",
        .transport = SENSOR_TRANSPORT_I2C,
        .default_address = BH1750_DEFAULT_ADDRESS,
        .quantities = bh1750_quantities,
        .n_quantities = ELEMENTSOF(bh1750_quantities),
        .init = bh1750_init,
        .read = bh1750_read,
        .free = bh1750_free,
};

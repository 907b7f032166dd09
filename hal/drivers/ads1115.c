/* SPDX-License-Identifier: MIT */
/* TI ADS1115 over SMBus (its registers are 16-bit, high byte first).
 *
 * One reading converts the four inputs in turn, single-shot: write the config word
 * for an input (which starts its conversion), return 0 for the conversion time, read
 * the result, go on with the next input; after the fourth the reading is complete.
 * Single-shot keeps the inputs apart and the chip asleep between readings. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

#include "ads1115.h"
#include "driver.h"
#include "log.h"
#include "macro.h"

static const double full_scales[] = { 6.144, 4.096, 2.048, 1.024, 0.512, 0.256, 0.256, 0.256 };
static const int rates[] = { 8, 16, 32, 64, 128, 250, 475, 860 };

int ads1115_pga_from_gain(double full_scale) {
        for (unsigned i = 0; i < 6; i++)
                if (fabs(full_scale - full_scales[i]) < 1e-6)
                        return (int) i;
        return -EINVAL;
}

double ads1115_full_scale(unsigned pga) {
        return full_scales[pga & 7];
}

int ads1115_dr_from_rate(int samples_per_sec) {
        for (unsigned i = 0; i < ELEMENTSOF(rates); i++)
                if (samples_per_sec == rates[i])
                        return (int) i;
        return -EINVAL;
}

int ads1115_rate(unsigned dr) {
        return rates[dr & 7];
}

uint16_t ads1115_config_single(unsigned channel, unsigned pga, unsigned dr) {
        return (uint16_t) (ADS1115_CONFIG_OS |
                           ADS1115_MUX_SINGLE(channel & 3) << ADS1115_CONFIG_MUX_SHIFT |
                           (pga & 7) << ADS1115_CONFIG_PGA_SHIFT |
                           ADS1115_CONFIG_MODE_SINGLE |
                           (dr & 7) << ADS1115_CONFIG_DR_SHIFT |
                           ADS1115_CONFIG_COMP_OFF);
}

int ads1115_decode(const uint8_t *buf, size_t len, unsigned pga, double *ret_volts) {
        int16_t code;

        if (!buf || !ret_volts || pga > 7)
                return -EINVAL;
        if (len != 2)
                return -EBADMSG;

        /* Datasheet 9.3.3: one LSB is FSR / 2^15; codes are two's complement. */
        code = (int16_t) (uint16_t) (buf[0] << 8 | buf[1]);
        *ret_volts = (double) code * ads1115_full_scale(pga) / 32768.0;
        return 0;
}

/* bus I/O */

#define DEFAULT_FULL_SCALE 2.048    /* the chip's power-on range */
#define DEFAULT_RATE       128      /* the chip's power-on rate */
#define REPOLL_USEC        (1 * USEC_PER_MSEC)
#define MAX_REPOLLS        5

struct ads1115_state {
        unsigned pga, dr;
        uint64_t conversion_usec;
        unsigned channel;              /* the input being converted */
        bool converting;
        unsigned repolls;
        double volts[ADS1115_CHANNELS];
};

static int ads1115_init(struct sensor_ctx *ctx) {
        const struct hal_sensor_config *c = ctx->config;
        _cleanup_(freep) struct ads1115_state *s = NULL;
        uint16_t config;
        int pga, dr, r;

        pga = ads1115_pga_from_gain(c->gain > 0 ? c->gain : DEFAULT_FULL_SCALE);
        if (pga < 0)
                return log_entity_full(LOG_ERR, EINVAL, c->name, NULL,
                                       "%s: gain %g V is not an ADS1115 full-scale range", c->name, c->gain);
        dr = ads1115_dr_from_rate(c->data_rate > 0 ? c->data_rate : DEFAULT_RATE);
        if (dr < 0)
                return log_entity_full(LOG_ERR, EINVAL, c->name, NULL,
                                       "%s: data rate %d is not an ADS1115 rate", c->name, c->data_rate);

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->pga = (unsigned) pga;
        s->dr = (unsigned) dr;
        /* Datasheet 7.5: the data rate may be 10 % slow; plus some slack for the bus. */
        s->conversion_usec = USEC_PER_SEC * 11 / 10 / (uint64_t) ads1115_rate(s->dr) + 200;

        /* There is no identification register. Writing a configuration (without OS,
         * so no conversion starts) and reading it back tells an ADS1115 from an
         * empty address or a different chip. */
        config = ads1115_config_single(0, s->pga, s->dr) & ~ADS1115_CONFIG_OS;
        r = i2c_write_word_data_be(ctx->i2c, ADS1115_REG_CONFIG, config);
        if (r < 0)
                return r;
        r = i2c_read_word_data_be(ctx->i2c, ADS1115_REG_CONFIG);
        if (r < 0)
                return r;
        if (((unsigned) r & ~ADS1115_CONFIG_OS) != config)
                return log_entity_full(LOG_ERR, ENODEV, c->name, NULL,
                                       "%s: device at 0x%02x reads config 0x%04x back as 0x%04x: not an ADS1115",
                                       c->name, ctx->i2c->address, config, (unsigned) r);

        ctx->data = TAKE_PTR(s);
        return 0;
}

static int ads1115_start(struct sensor_ctx *ctx, struct ads1115_state *s, uint64_t *retry_usec) {
        int r;

        r = i2c_write_word_data_be(ctx->i2c, ADS1115_REG_CONFIG,
                                   ads1115_config_single(s->channel, s->pga, s->dr));
        if (r < 0)
                return r;
        s->converting = true;
        s->repolls = 0;
        *retry_usec = s->conversion_usec;
        return 0;
}

static int ads1115_read_step(struct sensor_ctx *ctx, struct ads1115_state *s,
                             struct reading *out, uint64_t *retry_usec) {
        uint8_t buf[2];
        int r;

        if (!s->converting)
                return ads1115_start(ctx, s, retry_usec);

        r = i2c_read_word_data_be(ctx->i2c, ADS1115_REG_CONFIG);
        if (r < 0)
                return r;
        if (!(r & ADS1115_CONFIG_OS)) {
                if (++s->repolls > MAX_REPOLLS)
                        return -ETIMEDOUT;
                *retry_usec = REPOLL_USEC;
                return 0;
        }

        r = i2c_read_word_data_be(ctx->i2c, ADS1115_REG_CONVERSION);
        if (r < 0)
                return r;
        buf[0] = (uint8_t) (r >> 8);
        buf[1] = (uint8_t) r;
        r = ads1115_decode(buf, sizeof(buf), s->pga, &s->volts[s->channel]);
        if (r < 0)
                return r;

        if (++s->channel < ADS1115_CHANNELS)
                return ads1115_start(ctx, s, retry_usec);

        s->channel = 0;
        s->converting = false;
        out->n = ADS1115_CHANNELS;
        for (unsigned i = 0; i < ADS1115_CHANNELS; i++)
                out->value[i] = s->volts[i];
        return 1;
}

static int ads1115_read(struct sensor_ctx *ctx, struct reading *out, uint64_t *retry_usec) {
        struct ads1115_state *s = ctx->data;
        int r;

        r = ads1115_read_step(ctx, s, out, retry_usec);
        if (r < 0) {
                s->channel = 0;
                s->converting = false;
        }
        return r;
}

static void ads1115_free(struct sensor_ctx *ctx) {
        ctx->data = mfree(ctx->data);
}

static const struct quantity_info ads1115_quantities[] = {
        QUANTITY_VOLTAGE(0, 4),
        QUANTITY_VOLTAGE(1, 4),
        QUANTITY_VOLTAGE(2, 4),
        QUANTITY_VOLTAGE(3, 4),
};

const struct sensor_driver sensor_driver_ads1115 = {
        .name = "ads1115",
        .transport = SENSOR_TRANSPORT_I2C,
        .default_address = ADS1115_DEFAULT_ADDRESS,
        .quantities = ads1115_quantities,
        .n_quantities = ELEMENTSOF(ads1115_quantities),
        .init = ads1115_init,
        .read = ads1115_read,
        .free = ads1115_free,
};

/* SPDX-License-Identifier: MIT */
/* Bosch BME280 / BMP280 over I2C, SMBus transactions only.
 *
 * Forced mode: each reading starts one conversion and the read returns 0 with the
 * datasheet's maximum measurement time, so the loop never waits on the bus. Oversampling
 * x1 and the IIR filter off are the datasheet's "weather monitoring" settings (3.5.1),
 * matching the slow pace at which the daemon polls. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>

#include "bme280.h"
#include "driver.h"
#include "log.h"
#include "macro.h"

static uint16_t le16(const uint8_t *p) {
        return (uint16_t) (p[0] | (p[1] << 8));
}

int bme280_parse_calib(const uint8_t *buf, size_t len, struct bme280_calib *out) {
        struct bme280_calib c = {};

        if (!buf || !out)
                return -EINVAL;
        if (len != BME280_CALIB_TP_LEN && len != BME280_CALIB_LEN)
                return -EBADMSG;

        /* Datasheet table 16: little-endian words from 0x88; 0xA0 is unused. */
        c.t1 = le16(buf + 0);
        c.t2 = (int16_t) le16(buf + 2);
        c.t3 = (int16_t) le16(buf + 4);
        c.p1 = le16(buf + 6);
        c.p2 = (int16_t) le16(buf + 8);
        c.p3 = (int16_t) le16(buf + 10);
        c.p4 = (int16_t) le16(buf + 12);
        c.p5 = (int16_t) le16(buf + 14);
        c.p6 = (int16_t) le16(buf + 16);
        c.p7 = (int16_t) le16(buf + 18);
        c.p8 = (int16_t) le16(buf + 20);
        c.p9 = (int16_t) le16(buf + 22);
        c.h1 = buf[25];

        if (len == BME280_CALIB_LEN) {
                const uint8_t *h = buf + BME280_CALIB_TP_LEN;

                /* H4 and H5 are signed 12-bit values sharing the nibbles of 0xE5. */
                c.h2 = (int16_t) le16(h + 0);
                c.h3 = h[2];
                c.h4 = (int16_t) ((int8_t) h[3] * 16 | (h[4] & 0x0f));
                c.h5 = (int16_t) ((int8_t) h[5] * 16 | (h[4] >> 4));
                c.h6 = (int8_t) h[6];
                c.has_humidity = true;
        }

        /* An erased or absent NVM reads as all zeros or all ones; P1 = 0 would also
         * divide by zero in the pressure formula. */
        if (c.t1 == 0 || c.p1 == 0 || c.t1 == 0xffff || c.p1 == 0xffff)
                return -EBADMSG;

        *out = c;
        return 0;
}

/* The floating-point formulas of datasheet section 8.1 (BMP280: 8.1); unlike the
 * integer versions they cannot overflow on arbitrary register contents. t_fine is
 * truncated to an integer as the datasheet does. */
double bme280_compensate_temperature(const struct bme280_calib *c, int32_t adc_t, int32_t *ret_t_fine) {
        double var1, var2, d;

        var1 = ((double) adc_t / 16384.0 - (double) c->t1 / 1024.0) * (double) c->t2;
        d = (double) adc_t / 131072.0 - (double) c->t1 / 8192.0;
        var2 = d * d * (double) c->t3;
        /* Bounded: 20-bit ADC and 16-bit trimming keep |var1 + var2| below 2^27. */
        if (ret_t_fine)
                *ret_t_fine = (int32_t) (var1 + var2);
        return (var1 + var2) / 5120.0;
}

double bme280_compensate_pressure(const struct bme280_calib *c, int32_t adc_p, int32_t t_fine) {
        double var1, var2, p;

        var1 = (double) t_fine / 2.0 - 64000.0;
        var2 = var1 * var1 * (double) c->p6 / 32768.0;
        var2 = var2 + var1 * (double) c->p5 * 2.0;
        var2 = var2 / 4.0 + (double) c->p4 * 65536.0;
        var1 = ((double) c->p3 * var1 * var1 / 524288.0 + (double) c->p2 * var1) / 524288.0;
        var1 = (1.0 + var1 / 32768.0) * (double) c->p1;
        if (var1 == 0.0)
                return NAN;
        p = 1048576.0 - (double) adc_p;
        p = (p - var2 / 4096.0) * 6250.0 / var1;
        var1 = (double) c->p9 * p * p / 2147483648.0;
        var2 = p * (double) c->p8 / 32768.0;
        return p + (var1 + var2 + (double) c->p7) / 16.0;
}

double bme280_compensate_humidity(const struct bme280_calib *c, int32_t adc_h, int32_t t_fine) {
        double h;

        h = (double) t_fine - 76800.0;
        h = ((double) adc_h - ((double) c->h4 * 64.0 + (double) c->h5 / 16384.0 * h)) *
            ((double) c->h2 / 65536.0 *
             (1.0 + (double) c->h6 / 67108864.0 * h * (1.0 + (double) c->h3 / 67108864.0 * h)));
        h = h * (1.0 - (double) c->h1 * h / 524288.0);
        if (h > 100.0)
                h = 100.0;
        else if (h < 0.0)
                h = 0.0;
        return h;
}

int bme280_compensate(const struct bme280_calib *c, const uint8_t raw[BME280_DATA_LEN],
                      struct reading *out) {
        int32_t adc_p, adc_t, adc_h, t_fine;
        double t, p, h = 0.0;

        if (!c || !raw || !out)
                return -EINVAL;

        /* 20-bit pressure and temperature (msb, lsb, xlsb[7:4]), 16-bit humidity. */
        adc_p = (int32_t) ((uint32_t) raw[0] << 12 | (uint32_t) raw[1] << 4 | raw[2] >> 4);
        adc_t = (int32_t) ((uint32_t) raw[3] << 12 | (uint32_t) raw[4] << 4 | raw[5] >> 4);
        adc_h = (int32_t) ((uint32_t) raw[6] << 8 | raw[7]);

        if (adc_t == BME280_ADC_TP_SKIPPED || adc_p == BME280_ADC_TP_SKIPPED ||
            (c->has_humidity && adc_h == BME280_ADC_H_SKIPPED))
                return -EBADMSG;

        t = bme280_compensate_temperature(c, adc_t, &t_fine);
        p = bme280_compensate_pressure(c, adc_p, t_fine) / 100.0;
        if (c->has_humidity)
                h = bme280_compensate_humidity(c, adc_h, t_fine);

        /* Outside the chip's operating range (datasheet table 1) with some margin, the
         * bytes are not a measurement: a glitch on the bus, or garbage calibration. */
        if (!isfinite(t) || !isfinite(p) || !isfinite(h) ||
            t < -45.0 || t > 90.0 || p < 250.0 || p > 1150.0)
                return -EBADMSG;

        out->n = 0;
        out->value[out->n++] = t;
        if (c->has_humidity)
                out->value[out->n++] = h;
        out->value[out->n++] = p;
        return 0;
}

/* bus I/O */

/* ctrl_meas: osrs_t x1 [7:5], osrs_p x1 [4:2], mode [1:0]. */
#define CTRL_MEAS_X1_SLEEP  0x24
#define CTRL_MEAS_X1_FORCED 0x25
#define CTRL_HUM_X1         0x01

/* Datasheet 9.1 (BMP280 3.8.1): t_max = 1.25 + 2.3 T + 2.3 P + 0.575 + 2.3 H + 0.575 ms
 * at x1 is 9.3 ms; a little margin saves a second poll. */
#define MEASURE_USEC     (10 * USEC_PER_MSEC)
#define REPOLL_USEC      (2 * USEC_PER_MSEC)
#define MAX_REPOLLS      5

/* After this many failed readings in a row, the next one sets the chip up again
 * first: a chip that lost power comes back with ctrl_hum at 0 (humidity skipped) and
 * would otherwise fail every reading with -EBADMSG until a restart. */
#define REINIT_AFTER_FAILURES 3

struct bme280_state {
        struct bme280_calib calib;
        bool measuring;
        unsigned repolls;
        unsigned failures;             /* readings failed in a row */
};

static bool is_bme(const struct sensor_ctx *ctx) {
        return ctx->driver == &sensor_driver_bme280;
}

/* The chip id check, a soft reset, the calibration read and the configuration
 * writes: at open and again after a run of failures. Logs only when `loud` (at open;
 * a read never logs). */
static int bme280_setup(struct sensor_ctx *ctx, struct bme280_state *s, bool loud) {
        const char *name = ctx->config->name;
        bool bme = is_bme(ctx);
        uint8_t calib[BME280_CALIB_LEN];
        struct bme280_calib parsed;
        int r, id;

        id = i2c_read_byte_data(ctx->i2c, BME280_REG_ID);
        if (id < 0)
                return id;
        /* Early BMP280 samples reported 0x56 and 0x57. */
        if (bme ? id != BME280_CHIP_ID : (id < 0x56 || id > BMP280_CHIP_ID)) {
                const char *found = id == BME280_CHIP_ID ? " (a BME280)" :
                                    id == BMP280_CHIP_ID ? " (a BMP280)" : "";

                if (!loud)
                        return -ENODEV;
                return log_entity_full(LOG_ERR, ENODEV, name, NULL,
                                       "%s: chip id 0x%02x%s at address 0x%02x is not a %s",
                                       name, (unsigned) id, found, ctx->i2c->address,
                                       bme ? "BME280" : "BMP280");
        }

        r = i2c_write_byte_data(ctx->i2c, BME280_REG_RESET, BME280_RESET_WORD);
        if (r < 0)
                return r;
        /* After reset the chip copies its NVM into the registers (2 ms, datasheet 5.4.4);
         * at start-up and after a run of failures only, so a short wait here is
         * acceptable. */
        for (unsigned i = 0;; i++) {
                r = i2c_read_byte_data(ctx->i2c, BME280_REG_STATUS);
                if (r < 0)
                        return r;
                if (!(r & BME280_STATUS_IM_UPDATE))
                        break;
                if (i >= 10) {
                        if (!loud)
                                return -ETIMEDOUT;
                        return log_entity_full(LOG_ERR, ETIMEDOUT, name, NULL,
                                               "%s: calibration copy did not finish after reset", name);
                }
                nanosleep(&(struct timespec) { .tv_nsec = 1000 * 1000 }, NULL);
        }

        r = i2c_read_i2c_block_data(ctx->i2c, BME280_REG_CALIB_TP, calib, BME280_CALIB_TP_LEN);
        if (r < 0)
                return r;
        if (bme) {
                r = i2c_read_i2c_block_data(ctx->i2c, BME280_REG_CALIB_H,
                                            calib + BME280_CALIB_TP_LEN, BME280_CALIB_H_LEN);
                if (r < 0)
                        return r;
        }

        r = bme280_parse_calib(calib, bme ? BME280_CALIB_LEN : BME280_CALIB_TP_LEN, &parsed);
        if (r < 0) {
                if (!loud)
                        return r;
                return log_entity_full(LOG_ERR, r, name, NULL, "%s: implausible calibration data", name);
        }

        /* Filter off; ctrl_hum only takes effect with the next ctrl_meas write. */
        r = i2c_write_byte_data(ctx->i2c, BME280_REG_CONFIG, 0x00);
        if (r < 0)
                return r;
        if (bme) {
                r = i2c_write_byte_data(ctx->i2c, BME280_REG_CTRL_HUM, CTRL_HUM_X1);
                if (r < 0)
                        return r;
        }
        r = i2c_write_byte_data(ctx->i2c, BME280_REG_CTRL_MEAS, CTRL_MEAS_X1_SLEEP);
        if (r < 0)
                return r;

        s->calib = parsed;
        s->measuring = false;
        s->failures = 0;
        return 0;
}

static int bme280_init(struct sensor_ctx *ctx) {
        _cleanup_(freep) struct bme280_state *s = NULL;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;

        r = bme280_setup(ctx, s, /* loud= */ true);
        if (r < 0)
                return r;

        ctx->data = TAKE_PTR(s);
        return 0;
}

static int bme280_read_step(struct sensor_ctx *ctx, struct bme280_state *s,
                            struct reading *out, uint64_t *retry_usec) {
        uint8_t raw[BME280_DATA_LEN] = { [6] = 0x80 };
        int r;

        if (!s->measuring) {
                r = i2c_write_byte_data(ctx->i2c, BME280_REG_CTRL_MEAS, CTRL_MEAS_X1_FORCED);
                if (r < 0)
                        return r;
                s->measuring = true;
                s->repolls = 0;
                *retry_usec = MEASURE_USEC;
                return 0;
        }

        r = i2c_read_byte_data(ctx->i2c, BME280_REG_STATUS);
        if (r < 0)
                return r;
        if (r & BME280_STATUS_MEASURING) {
                if (++s->repolls > MAX_REPOLLS)
                        return -ETIMEDOUT;
                *retry_usec = REPOLL_USEC;
                return 0;
        }

        /* One burst read keeps the values of one conversion together (datasheet 4). */
        r = i2c_read_i2c_block_data(ctx->i2c, BME280_REG_DATA, raw,
                                    s->calib.has_humidity ? BME280_DATA_LEN : 6);
        if (r < 0)
                return r;

        s->measuring = false;
        r = bme280_compensate(&s->calib, raw, out);
        if (r < 0)
                return r;
        return 1;
}

static int bme280_read(struct sensor_ctx *ctx, struct reading *out, uint64_t *retry_usec) {
        struct bme280_state *s = ctx->data;
        int r;

        /* Only between readings: a conversion in flight is not interrupted. */
        if (!s->measuring && s->failures >= REINIT_AFTER_FAILURES) {
                r = bme280_setup(ctx, s, /* loud= */ false);
                if (r < 0)
                        return r;       /* still failing: again at the next reading */
        }

        r = bme280_read_step(ctx, s, out, retry_usec);
        if (r < 0) {
                s->measuring = false;
                if (s->failures < UINT_MAX)
                        s->failures++;
        } else if (r > 0)
                s->failures = 0;
        return r;
}

static void bme280_free(struct sensor_ctx *ctx) {
        ctx->data = mfree(ctx->data);
}

static const struct quantity_info bme280_quantities[] = {
        QUANTITY_TEMPERATURE(2),
        QUANTITY_HUMIDITY(1),
        QUANTITY_PRESSURE(2),
};

static const struct quantity_info bmp280_quantities[] = {
        QUANTITY_TEMPERATURE(2),
        QUANTITY_PRESSURE(2),
};

const struct sensor_driver sensor_driver_bme280 = {
        .name = "bme280",
        .transport = SENSOR_TRANSPORT_I2C,
        .default_address = BME280_DEFAULT_ADDRESS,
        .quantities = bme280_quantities,
        .n_quantities = ELEMENTSOF(bme280_quantities),
        .init = bme280_init,
        .read = bme280_read,
        .free = bme280_free,
};

const struct sensor_driver sensor_driver_bmp280 = {
        .name = "bmp280",
        .transport = SENSOR_TRANSPORT_I2C,
        .default_address = BME280_DEFAULT_ADDRESS,
        .quantities = bmp280_quantities,
        .n_quantities = ELEMENTSOF(bmp280_quantities),
        .init = bme280_init,
        .read = bme280_read,
        .free = bme280_free,
};

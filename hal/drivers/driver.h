/* SPDX-License-Identifier: MIT */
/* What a sensor driver is: a name, how it reaches its chip (an I2C device or a text
 * file of sysfs/1-Wire), its quantities and three operations. hal/sensor.c opens the
 * transport and hands it to the driver in a struct sensor_ctx; the driver owns only
 * its private state (ctx->data). Each driver keeps its decoding pure (no I/O, every
 * length checked; see its own header) apart from the bus I/O here. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal.h"
#include "i2c-bus.h"
#include "reading.h"

struct sensor_driver;

enum sensor_transport {
        SENSOR_TRANSPORT_I2C,
        SENSOR_TRANSPORT_FILE,
};

/* Reads a whole small file, NUL-terminated: length or -errno (a backend's file_read). */
typedef int (*sensor_file_read_t)(void *userdata, const char *path, char *buf, size_t size);

struct sensor_ctx {
        const struct sensor_driver *driver;
        /* The sensor's configuration; its strings live as long as the sensor. For I2C
         * the address is already resolved to the chip's default where it was -1. */
        const struct hal_sensor_config *config;
        struct i2c_dev *i2c;                  /* SENSOR_TRANSPORT_I2C */
        sensor_file_read_t file_read;         /* SENSOR_TRANSPORT_FILE */
        void *file_userdata;
        /* Filled from the driver's table before init; a driver whose quantities depend
         * on the configuration (sysfs) rewrites them in init. */
        struct quantity_info quantities[READING_MAX];
        size_t n_quantities;
        void *data;                           /* the driver's own state */
};

struct sensor_driver {
        const char *name;
        enum sensor_transport transport;
        uint8_t default_address;              /* I2C only */
        const struct quantity_info *quantities;
        size_t n_quantities;

        /** Checks the chip and prepares it; logs what it found wrong (-ENODEV for a
         * different chip) with the entity name. May allocate ctx->data. */
        int (*init)(struct sensor_ctx *ctx);
        /** As hal_sensor_read(): 1 with *out, 0 with *retry_usec, or -errno; after an
         * error the next call starts a fresh reading. Never logs: it runs every tick. */
        int (*read)(struct sensor_ctx *ctx, struct reading *out, uint64_t *retry_usec);
        /** File drivers: writes the path of the file the sensor reads into buf; -EINVAL
         * if the configuration names none (init says why), -ENAMETOOLONG. */
        int (*path)(const struct hal_sensor_config *config, char *buf, size_t size);
        /** Frees ctx->data; may be NULL. */
        void (*free)(struct sensor_ctx *ctx);
};

extern const struct sensor_driver sensor_driver_bme280;
extern const struct sensor_driver sensor_driver_bmp280;
extern const struct sensor_driver sensor_driver_sht3x;
extern const struct sensor_driver sensor_driver_bh1750;
extern const struct sensor_driver sensor_driver_ads1115;
extern const struct sensor_driver sensor_driver_ds18b20;
extern const struct sensor_driver sensor_driver_sysfs;

/** The driver called `name`, or NULL. */
const struct sensor_driver *sensor_driver_find(const char *name);

/* The fixed quantity descriptions shared by drivers (names, units, device classes). */
#define QUANTITY_TEMPERATURE(dec) { "temperature", "°C", "temperature", (dec) }
#define QUANTITY_HUMIDITY(dec)    { "humidity", "%", "humidity", (dec) }
#define QUANTITY_PRESSURE(dec)    { "pressure", "hPa", "atmospheric_pressure", (dec) }
#define QUANTITY_ILLUMINANCE(dec) { "illuminance", "lx", "illuminance", (dec) }
#define QUANTITY_VOLTAGE(n, dec)  { "voltage" #n, "V", "voltage", (dec) }

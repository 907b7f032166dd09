/* SPDX-License-Identifier: MIT */
/* The sensor half of hal.h: finds the driver a configuration names, gets it a
 * transport from the backend (an I2C device through i2c_open, or file reads through
 * file_read) and forwards readings. The drivers themselves live in hal/drivers/. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "driver.h"
#include "sysfs.h"
#include "hal-backend.h"
#include "hal.h"
#include "i2c-bus.h"
#include "log.h"
#include "macro.h"

struct hal_sensor {
        struct hal *hal;
        const struct sensor_driver *driver;
        struct hal_sensor_config config;   /* a copy whose strings we own */
        struct sensor_ctx ctx;
};

bool hal_sensor_driver_known(const char *driver) {
        return sensor_driver_find(driver) != NULL;
}

static int strdup_opt(const char *s, const char **ret) {
        char *copy = NULL;

        if (s) {
                copy = strdup(s);
                if (!copy)
                        return -ENOMEM;
        }
        *ret = copy;
        return 0;
}

static void config_done(struct hal_sensor_config *c) {
        free((char *) c->name);
        free((char *) c->driver);
        free((char *) c->path);
        free((char *) c->unit);
        free((char *) c->quantity);
        free((char *) c->device);
        free((char *) c->bus);
}

static int config_copy(const struct hal_sensor_config *src, struct hal_sensor_config *dst) {
        *dst = *src;
        dst->name = dst->driver = dst->path = dst->unit = dst->quantity = dst->device = dst->bus = NULL;

        if (strdup_opt(src->name, &dst->name) < 0 ||
            strdup_opt(src->driver, &dst->driver) < 0 ||
            strdup_opt(src->path, &dst->path) < 0 ||
            strdup_opt(src->unit, &dst->unit) < 0 ||
            strdup_opt(src->quantity, &dst->quantity) < 0 ||
            strdup_opt(src->device, &dst->device) < 0 ||
            strdup_opt(src->bus, &dst->bus) < 0)
                return -ENOMEM;
        return 0;
}

static int sensor_file_read(void *userdata, const char *path, char *buf, size_t size) {
        struct hal_sensor *s = userdata;

        return s->hal->ops->file_read(s->hal->state, path, &s->config, buf, size);
}

struct hal_sensor *hal_sensor_free(struct hal_sensor *sensor) {
        if (!sensor)
                return NULL;

        if (sensor->driver && sensor->driver->free)
                sensor->driver->free(&sensor->ctx);
        sensor->ctx.i2c = i2c_dev_close(sensor->ctx.i2c);
        config_done(&sensor->config);
        return mfree(sensor);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(struct hal_sensor *, hal_sensor_free);

static int sensor_open_transport(struct hal_sensor *s) {
        const struct hal_sensor_config *c = &s->config;
        const char *name = c->name ? c->name : c->driver;
        int r;

        if (s->driver->transport == SENSOR_TRANSPORT_FILE) {
                if (!s->hal->ops->file_read)
                        return log_entity_full(LOG_ERR, EOPNOTSUPP, c->name, NULL,
                                               "%s: the %s backend cannot read files",
                                               name, s->hal->ops->name);
                s->ctx.file_read = sensor_file_read;
                s->ctx.file_userdata = s;
                return 0;
        }

        if (!s->hal->ops->i2c_open)
                return log_entity_full(LOG_ERR, EOPNOTSUPP, c->name, NULL,
                                       "%s: the %s backend has no I2C", name, s->hal->ops->name);
        if (!c->bus)
                return log_entity_full(LOG_ERR, EINVAL, c->name, NULL,
                                       "%s: I2C sensor without a bus", name);
        if (s->config.address < 0)
                s->config.address = s->driver->default_address;
        if (s->config.address < 0x03 || s->config.address > 0x77)
                return log_entity_full(LOG_ERR, EINVAL, c->name, NULL,
                                       "%s: I2C address 0x%x is not a 7-bit device address",
                                       name, (unsigned) s->config.address);

        r = s->hal->ops->i2c_open(s->hal->state, c->bus, (uint8_t) c->address, c, &s->ctx.i2c);
        if (r < 0)
                return r;
        return 0;
}

static const char *file_kind(mode_t mode) {
        switch (mode & S_IFMT) {
        case S_IFDIR:
                return "a directory";
        case S_IFIFO:
                return "a FIFO";
        case S_IFCHR:
                return "a character device";
        case S_IFBLK:
                return "a block device";
        case S_IFSOCK:
                return "a socket";
        default:
                return "not a regular file";
        }
}

int hal_sensor_check_path(const struct hal_sensor_config *config, char *err, size_t errsize) {
        const struct sensor_driver *driver;
        char path[PATH_MAX];
        struct stat st;

        driver = config ? sensor_driver_find(config->driver) : NULL;
        if (!driver || driver->transport != SENSOR_TRANSPORT_FILE || !driver->path)
                return 0;
        /* A configuration that names no valid path is for the driver's init to report. */
        if (driver->path(config, path, sizeof(path)) < 0)
                return 0;

        /* Missing (or unreachable): the read reports that with its own error, without
         * blocking. stat() follows links, as the read will (w1 devices are links). */
        if (stat(path, &st) < 0 || S_ISREG(st.st_mode))
                return 0;

        if (err && errsize > 0)
                snprintf(err, errsize, "%s is %s, not a regular file or sysfs attribute",
                         path, file_kind(st.st_mode));
        return -EINVAL;
}

int hal_sensor_open(struct hal *hal, const struct hal_sensor_config *config,
                    struct hal_sensor **ret) {
        _cleanup_(hal_sensor_freep) struct hal_sensor *s = NULL;
        const struct sensor_driver *driver;
        int r;

        if (!hal || !config || !ret)
                return -EINVAL;

        driver = sensor_driver_find(config->driver);
        if (!driver)
                return log_entity_full(LOG_ERR, EINVAL, config->name, NULL,
                                       "%s: unknown sensor driver \"%s\"",
                                       config->name ? config->name : "sensor",
                                       config->driver ? config->driver : "");

        /* The simulated board serves its files itself, but a configuration it accepts
         * should also run on the real board (and pass --check). */
        {
                char err[PATH_MAX + 128];

                r = hal_sensor_check_path(config, err, sizeof(err));
                if (r < 0)
                        return log_entity_full(LOG_ERR, r, config->name, NULL, "%s: %s",
                                               config->name ? config->name : "sensor", err);
        }

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->hal = hal;
        /* Every driver's free copes with a context its init never filled. */
        s->driver = driver;
        r = config_copy(config, &s->config);
        if (r < 0)
                return r;

        s->ctx = (struct sensor_ctx) {
                .driver = driver,
                .config = &s->config,
                .n_quantities = MIN(driver->n_quantities, (size_t) READING_MAX),
        };
        memcpy(s->ctx.quantities, driver->quantities,
               s->ctx.n_quantities * sizeof(struct quantity_info));

        r = sensor_open_transport(s);
        if (r < 0)
                return r;

        r = driver->init(&s->ctx);
        if (r < 0)
                return r;

        /* A configured precision overrides the driver's for every quantity. */
        if (s->config.decimals >= 0)
                for (size_t i = 0; i < s->ctx.n_quantities; i++)
                        s->ctx.quantities[i].decimals = s->config.decimals;

        *ret = TAKE_PTR(s);
        return 0;
}

int hal_sensor_read(struct hal_sensor *sensor, struct reading *out, uint64_t *retry_usec) {
        uint64_t retry = 0;
        int r;

        if (!sensor || !out)
                return -EINVAL;

        r = sensor->driver->read(&sensor->ctx, out, &retry);
        if (r == 0 && retry_usec)
                *retry_usec = retry;
        return r;
}

const struct quantity_info *hal_sensor_quantities(const struct hal_sensor *sensor, size_t *n) {
        if (!sensor) {
                if (n)
                        *n = 0;
                return NULL;
        }
        if (n)
                *n = sensor->ctx.n_quantities;
        return sensor->ctx.quantities;
}

int hal_sensor_describe(const struct hal_sensor_config *config,
                        struct quantity_info ret[READING_MAX], size_t *n) {
        const struct sensor_driver *driver;

        driver = config ? sensor_driver_find(config->driver) : NULL;
        if (!driver || !ret || !n)
                return -EINVAL;
        if (driver == &sensor_driver_sysfs) {
                sysfs_describe(config, &ret[0]);
                *n = 1;
                return 0;
        }
        *n = MIN(driver->n_quantities, (size_t) READING_MAX);
        memcpy(ret, driver->quantities, *n * sizeof(*ret));
        /* A configured precision overrides the driver's, as in hal_sensor_open(). */
        if (config->decimals >= 0)
                for (size_t i = 0; i < *n; i++)
                        ret[i].decimals = config->decimals;
        return 0;
}

/* SPDX-License-Identifier: MIT */
/* See gpiod-common.h. */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "file-read.h"
#include "gpiod-common.h"
#include "i2c-bus.h"
#include "macro.h"

int hal_gpiod_errno(void) {
        return errno > 0 ? -errno : -EIO;
}

bool hal_gpiod_parse_offset(const char *s, unsigned *ret) {
        unsigned long v = 0;

        if (!*s || strlen(s) > 5)
                return false;
        for (const char *p = s; *p; p++) {
                if (*p < '0' || *p > '9')
                        return false;
                v = v * 10 + (unsigned long) (*p - '0');
        }
        *ret = (unsigned) v;
        return true;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

int hal_gpiod_open_chip(const char *spec, hal_gpiod_open_t open_chip, struct gpiod_chip **ret) {
        _cleanup_(closedirp) DIR *dir = NULL;
        char path[PATH_MAX];
        struct dirent *de;
        int denied = 0;

        if (spec[0] == '/') {
                *ret = open_chip(spec, NULL);
                return *ret ? 0 : hal_gpiod_errno();
        }

        if (strncmp(spec, "gpiochip", 8) == 0 && !strchr(spec, '/')) {
                snprintf(path, sizeof(path), "/dev/%s", spec);
                *ret = open_chip(path, NULL);
                if (*ret)
                        return 0;
                if (errno != ENOENT)
                        return hal_gpiod_errno();
        }

        dir = opendir("/dev");
        if (!dir)
                return -errno;
        while ((de = readdir(dir))) {
                struct gpiod_chip *chip;

                if (strncmp(de->d_name, "gpiochip", 8) != 0)
                        continue;
                snprintf(path, sizeof(path), "/dev/%s", de->d_name);
                /* One unreadable chip must not hide the others. */
                errno = 0;
                chip = open_chip(path, spec);
                if (chip) {
                        *ret = chip;
                        return 0;
                }
                if (errno == EACCES || errno == EPERM)
                        denied = -errno;
        }
        /* Not found, but some chip could not be looked at: say why, or a sandbox or
         * permission problem would read as a missing chip. */
        return denied ?: -ENOENT;
}

int hal_gpiod_init(sd_event *event, const struct hal_options *options, void **ret_state) {
        struct gpiod_state *st;

        st = calloc(1, sizeof(*st));
        if (!st)
                return -ENOMEM;
        st->consumer = strdup(options->consumer ?: "iotgwd");
        if (!st->consumer) {
                free(st);
                return -ENOMEM;
        }
        *ret_state = st;
        return 0;
}

void hal_gpiod_done(void *state) {
        struct gpiod_state *st = state;

        if (!st)
                return;
        free(st->consumer);
        free(st);
}

int hal_gpiod_i2c_open(void *state, const char *bus, uint8_t address,
                       const struct hal_sensor_config *config, struct i2c_dev **ret) {
        return i2c_dev_open(bus, address, ret);
}

int hal_gpiod_file_read(void *state, const char *path, const struct hal_sensor_config *config,
                        char *buf, size_t size) {
        return hal_read_small_file(path, buf, size);
}

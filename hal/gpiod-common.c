/* See gpiod-common.h. */
#include <errno.h>
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

/* SPDX-License-Identifier: MIT */
/* What the libgpiod v1 and v2 backends share: everything that does not depend on the
 * libgpiod API version (errno conversion, line offsets, the backend state, and the
 * sensor operations that go to i2c-dev and plain files). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hal-backend.h"

struct gpiod_state {
        char *consumer;
};

/** libgpiod reports -1 and errno; this makes sure a failure never reads as success. */
int hal_gpiod_errno(void);
/** A strict decimal offset ("17"); false means the string is a line name. */
bool hal_gpiod_parse_offset(const char *s, unsigned *ret);
struct gpiod_chip;
/* Opens the GPIO chip at `path`; with a label, only if the chip has that label (else
 * NULL). The one version-specific piece of finding a chip. */
typedef struct gpiod_chip *(*hal_gpiod_open_t)(const char *path, const char *label);
/** A chip by path (/dev/gpiochip0), by name (gpiochip0) or by label (pinctrl-rp1):
 * names change with probe order, labels name the hardware. Walks /dev itself, since
 * libgpiod 1.6's own label lookup gives up when any one chip cannot be opened.
 * -ENOENT when no chip matches, or -EACCES/-EPERM when none matched but a chip
 * could not be opened for that reason (it may be the one). */
int hal_gpiod_open_chip(const char *spec, hal_gpiod_open_t open_chip, struct gpiod_chip **ret);
/** The backend's init and done operations: the consumer label requests carry. */
int hal_gpiod_init(sd_event *event, const struct hal_options *options, void **ret_state);
void hal_gpiod_done(void *state);
/** The sensor operations of the real board: i2c-dev devices and sysfs files. */
int hal_gpiod_i2c_open(void *state, const char *bus, uint8_t address,
                       const struct hal_sensor_config *config, struct i2c_dev **ret);
int hal_gpiod_file_read(void *state, const char *path, const struct hal_sensor_config *config,
                        char *buf, size_t size);

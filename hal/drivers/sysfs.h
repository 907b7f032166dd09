/* SPDX-License-Identifier: MIT */
/* A number read from any sysfs attribute (thermal zones, hwmon, IIO). */
#pragma once

#include <stddef.h>

#include "hal.h"

/** Parses text (not necessarily NUL-terminated) holding one decimal number: an
 * optional sign, digits, optionally '.' and digits, surrounded by whitespace only.
 * No exponents, hex, "nan" or "inf". -EBADMSG otherwise (also for an empty text or a
 * value too large to be finite). Independent of the locale. */
int sysfs_parse_number(const char *text, size_t len, double *ret);

/** The quantity a sysfs sensor reports, as its configuration names it. */
void sysfs_describe(const struct hal_sensor_config *config, struct quantity_info *ret);

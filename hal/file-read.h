/* SPDX-License-Identifier: MIT */
/* Reading the small text files of sysfs and the 1-Wire bus for the real backend. */
#pragma once

#include <stddef.h>

/** Reads the whole file at `path` into buf and NUL-terminates it. Returns the length
 * read, or -errno; -EFBIG if it does not fit in size - 1 bytes; -EINVAL if the path is
 * not a regular file (opened without blocking, so a FIFO cannot hang the caller). */
int hal_read_small_file(const char *path, char *buf, size_t size);

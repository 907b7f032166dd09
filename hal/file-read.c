/* SPDX-License-Identifier: MIT */
/* See file-read.h. sysfs attributes are produced in one go by the kernel, so a plain
 * read loop until EOF gives a consistent snapshot of a small file. */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-read.h"
#include "macro.h"

int hal_read_small_file(const char *path, char *buf, size_t size) {
        _cleanup_(closep) int fd = -EBADF;
        struct stat st;
        size_t len = 0;

        if (!path || !buf || size == 0)
                return -EINVAL;

        /* O_NONBLOCK so that opening a FIFO without a writer (or a device that waits
         * for carrier) cannot hang the loop; it changes nothing for regular files. The
         * path was checked at open, but it may have been replaced since. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EINVAL;

        for (;;) {
                ssize_t n;

                if (len >= size - 1) {
                        char extra;

                        /* Full: only fine if the file ends exactly here. */
                        n = read(fd, &extra, 1);
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n < 0)
                                return -errno;
                        if (n > 0)
                                return -EFBIG;
                        break;
                }

                n = read(fd, buf + len, size - 1 - len);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t) n;
        }

        buf[len] = '\0';
        return (int) MIN(len, (size_t) INT32_MAX);
}

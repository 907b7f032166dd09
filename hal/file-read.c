/* See file-read.h. sysfs attributes are produced in one go by the kernel, so a plain
 * read loop until EOF gives a consistent snapshot of a small file. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "file-read.h"
#include "macro.h"

int hal_read_small_file(const char *path, char *buf, size_t size) {
        _cleanup_(closep) int fd = -EBADF;
        size_t len = 0;

        if (!path || !buf || size == 0)
                return -EINVAL;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;

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

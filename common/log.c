/* SPDX-License-Identifier: MIT */
/* See log.h. Structured journal entries when JOURNAL_STREAM names our stderr, plain
 * lines on a terminal, "<N>" lines otherwise. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
/* The entries carry the caller's CODE_FILE/CODE_LINE/CODE_FUNC (log_internal's
 * arguments); without this sd_journal_sendv() would add its own call site here,
 * and every entry would have each of them twice. */
#define SD_JOURNAL_SUPPRESS_LOCATION 1
#include <systemd/sd-journal.h>

#include "log.h"

static int max_level = LOG_INFO;
static enum log_target target = LOG_TARGET_PREFIXED;

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_level_from_string(const char *s) {
        static const char *const names[] = {
                "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
        };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (streq(s, names[i]))
                        return (int) i;
        if (streq(s, "error"))
                return LOG_ERR;
        if (streq(s, "warn"))
                return LOG_WARNING;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        return -EINVAL;
}

static bool stderr_is_journal(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return false;
        if (fstat(STDERR_FILENO, &st) < 0)
                return false;
        return (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

/* JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected; only trust it
 * while stderr still is that stream (a child may have redirected it). */
void log_open(void) {
        if (stderr_is_journal())
                target = LOG_TARGET_JOURNAL;
        else if (isatty(STDERR_FILENO))
                target = LOG_TARGET_TERMINAL;
        else
                target = LOG_TARGET_PREFIXED;
}

enum log_target log_get_target(void) {
        return target;
}

int log_format_line(enum log_target t, int level, const char *msg, char *buf, size_t size) {
        const char *mark = "";

        if (t != LOG_TARGET_TERMINAL)
                return snprintf(buf, size, "<%d>%s\n", level, msg);
        if (level <= LOG_ERR)
                mark = "error: ";
        else if (level == LOG_WARNING)
                mark = "warning: ";
        return snprintf(buf, size, "%s%s\n", mark, msg);
}

int log_internal(int level, int error, const char *entity, const char *topic,
                 const char *file, int line, const char *func,
                 const char *format, ...) {
        char msg[1024];
        va_list ap;
        int saved_errno = errno;

        if (error < 0)
                error = -error;
        if (level > max_level)
                return -error;

        /* %m prints the error we were given, not whatever errno happens to be. */
        errno = error;
        va_start(ap, format);
        vsnprintf(msg, sizeof(msg), format, ap);
        va_end(ap);

        if (target == LOG_TARGET_JOURNAL) {
                char f_msg[sizeof(msg) + 8], f_prio[16], f_file[256], f_line[32], f_func[128],
                     f_errno[32], f_entity[160], f_topic[320];
                struct iovec iov[8];
                int n = 0;

#define ADD_FIELD(buf, ...) do {                                               \
                        int _l = snprintf(buf, sizeof(buf), __VA_ARGS__);      \
                        iov[n].iov_base = buf;                                 \
                        iov[n++].iov_len = MIN((size_t) _l, sizeof(buf) - 1);  \
                } while (0)
                ADD_FIELD(f_msg, "MESSAGE=%s", msg);
                ADD_FIELD(f_prio, "PRIORITY=%d", level);
                ADD_FIELD(f_file, "CODE_FILE=%s", file);
                ADD_FIELD(f_line, "CODE_LINE=%d", line);
                ADD_FIELD(f_func, "CODE_FUNC=%s", func);
                if (error)
                        ADD_FIELD(f_errno, "ERRNO=%d", error);
                if (entity)
                        ADD_FIELD(f_entity, "IOTGWD_ENTITY=%s", entity);
                if (topic)
                        ADD_FIELD(f_topic, "IOTGWD_TOPIC=%s", topic);
#undef ADD_FIELD
                sd_journal_sendv(iov, n);
        } else {
                char out[sizeof(msg) + 16];

                (void) log_format_line(target, level, msg, out, sizeof(out));
                fputs(out, stderr);
        }

        errno = saved_errno;
        return -error;
}

bool log_ratelimit_test(struct log_ratelimit *rl, uint64_t now_usec, unsigned *suppressed) {
        if (suppressed)
                *suppressed = 0;
        if (rl->begin == 0 || now_usec - rl->begin >= rl->interval_usec) {
                if (suppressed)
                        *suppressed = rl->suppressed;
                rl->begin = now_usec;
                rl->num = 0;
                rl->suppressed = 0;
        }
        if (rl->num < rl->burst) {
                rl->num++;
                return true;
        }
        rl->suppressed++;
        return false;
}

/* SPDX-License-Identifier: MIT */
/* MQTT topic helpers. Entity names become topic levels, so they are held to a small
 * safe alphabet: nothing that MQTT treats specially ('/', '+', '#'), nothing that
 * needs quoting in Home Assistant ids, and a bounded length. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "topic.h"

#define TOPIC_LEVEL_MAX 64

static bool level_char(char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
}

/* Length of the valid level at the start of s (up to '/' or the end), or 0. */
static size_t level_length(const char *s) {
        size_t n = 0;

        while (level_char(s[n])) {
                n++;
                if (n > TOPIC_LEVEL_MAX)
                        return 0;
        }
        if (s[n] != '\0' && s[n] != '/')
                return 0;
        return n;
}

bool topic_level_valid(const char *s) {
        size_t n;

        if (!s)
                return false;
        n = level_length(s);
        return n > 0 && s[n] == '\0';
}

int topic_build(char **ret, const char *first, ...) {
        _cleanup_(freep) char *t = NULL;
        size_t total = 0;
        va_list ap;
        char *p;

        /* Two passes over the list: measure, then copy into one allocation. */
        va_start(ap, first);
        for (const char *part = first; part; part = va_arg(ap, const char *))
                if (part[0] != '\0')
                        total += strlen(part) + 1;
        va_end(ap);
        if (total == 0)
                return -EINVAL;

        t = malloc(total);
        if (!t)
                return -ENOMEM;

        p = t;
        va_start(ap, first);
        for (const char *part = first; part; part = va_arg(ap, const char *)) {
                size_t n = strlen(part);

                if (n == 0)
                        continue;
                if (p != t)
                        *p++ = '/';
                memcpy(p, part, n);
                p += n;
        }
        va_end(ap);
        *p = '\0';

        *ret = TAKE_PTR(t);
        return 0;
}

int topic_split_command(const char *base, const char *topic, const char **entity,
                        size_t *entity_len, const char **verb) {
        size_t base_len = strlen(base), n, m;
        const char *e = topic, *v;

        if (base_len > 0) {
                if (strncmp(topic, base, base_len) != 0 || topic[base_len] != '/')
                        return -EINVAL;
                e = topic + base_len + 1;
        }

        n = level_length(e);
        if (n == 0 || e[n] != '/')
                return -EINVAL;

        v = e + n + 1;
        m = level_length(v);
        if (m == 0 || v[m] != '\0')
                return -EINVAL;

        *entity = e;
        *entity_len = n;
        *verb = v;
        return 0;
}

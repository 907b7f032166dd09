/* SPDX-License-Identifier: MIT */
/* Strict parsers for configuration values and command payloads.
 *
 * Every function here rejects what it does not fully understand: leading or
 * trailing whitespace, signs where none make sense, trailing junk, overflow. A
 * value that is silently truncated ("10x" read as 10) is worse than an error,
 * because the daemon would then run with a setting nobody wrote. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <strings.h>

#include "config.h"
#include "macro.h"

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

static int hex_value(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Reads the decimal digits at *p into *ret and advances *p past them.
 * -EINVAL when there is no digit, -ERANGE on overflow. */
static int read_decimal(const char **p, uint64_t *ret) {
        const char *s = *p;
        uint64_t v = 0;

        if (!is_digit(*s))
                return -EINVAL;

        for (; is_digit(*s); s++) {
                unsigned d = (unsigned) (*s - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }

        *p = s;
        *ret = v;
        return 0;
}

int parse_uint_range(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;
        int r;

        if (!s || !ret)
                return -EINVAL;

        if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
                const char *p = s + 2;

                if (*p == '\0')
                        return -EINVAL;
                for (; *p; p++) {
                        int d = hex_value(*p);

                        if (d < 0)
                                return -EINVAL;
                        if (v > (UINT64_MAX >> 4))
                                return -ERANGE;
                        v = (v << 4) | (uint64_t) d;
                }
        } else {
                const char *p = s;

                /* "010" could be meant as octal; refuse to guess. */
                if (s[0] == '0' && s[1] != '\0')
                        return -EINVAL;
                r = read_decimal(&p, &v);
                if (r < 0)
                        return r;
                if (*p != '\0')
                        return -EINVAL;
        }

        if (v < min || v > max)
                return -ERANGE;

        *ret = v;
        return 0;
}

int parse_boolean(const char *s, bool *ret) {
        static const char *const yes[] = { "1", "yes", "true", "on" };
        static const char *const no[] = { "0", "no", "false", "off" };

        if (!s || !ret)
                return -EINVAL;

        for (size_t i = 0; i < ELEMENTSOF(yes); i++)
                if (strcasecmp(s, yes[i]) == 0) {
                        *ret = true;
                        return 0;
                }
        for (size_t i = 0; i < ELEMENTSOF(no); i++)
                if (strcasecmp(s, no[i]) == 0) {
                        *ret = false;
                        return 0;
                }

        return -EINVAL;
}

int parse_double(const char *s, double *ret) {
        const char *p = s;
        bool digits = false;
        char *end;
        double v;

        if (!s || !ret)
                return -EINVAL;

        /* Check the shape ourselves: strtod() would also take leading blanks, hex
         * floats, "inf" and "nan", none of which belong in a configuration. */
        if (*p == '+' || *p == '-')
                p++;
        while (is_digit(*p)) {
                p++;
                digits = true;
        }
        if (*p == '.') {
                p++;
                while (is_digit(*p)) {
                        p++;
                        digits = true;
                }
        }
        if (!digits)
                return -EINVAL;
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '+' || *p == '-')
                        p++;
                if (!is_digit(*p))
                        return -EINVAL;
                while (is_digit(*p))
                        p++;
        }
        if (*p != '\0')
                return -EINVAL;

        errno = 0;
        v = strtod(s, &end);
        /* A locale with another decimal point would stop early: refuse, don't guess. */
        if (end != p)
                return -EINVAL;
        if (errno == ERANGE || !isfinite(v))
                return -ERANGE;

        *ret = v;
        return 0;
}

static const struct {
        const char *suffix;
        uint64_t usec;
} duration_units[] = {
        /* A unit only matches when followed by the end, a blank or a digit, so
         * "ms" is never read as "m" plus junk and the order here is free. */
        { "us",  UINT64_C(1) },
        { "ms",  USEC_PER_MSEC },
        { "min", 60 * USEC_PER_SEC },
        { "s",   USEC_PER_SEC },
        { "h",   3600 * USEC_PER_SEC },
        { "d",   86400 * USEC_PER_SEC },
};

/* Reads one unit at *p, which must end the string or be followed by a blank or a
 * digit (the start of the next component). */
static int read_duration_unit(const char **p, uint64_t *ret) {
        for (size_t i = 0; i < ELEMENTSOF(duration_units); i++) {
                size_t l = strlen(duration_units[i].suffix);
                char next;

                if (strncmp(*p, duration_units[i].suffix, l) != 0)
                        continue;
                next = (*p)[l];
                if (next != '\0' && next != ' ' && next != '\t' && !is_digit(next))
                        continue;

                *p += l;
                *ret = duration_units[i].usec;
                return 0;
        }
        return -EINVAL;
}

int parse_duration(const char *s, uint64_t *ret_usec) {
        const char *p = s;
        uint64_t total = 0, n, unit;
        int r;

        if (!s || !ret_usec)
                return -EINVAL;

        r = read_decimal(&p, &n);
        if (r < 0)
                return r;

        if (*p == '\0') {
                /* A bare number is seconds, but only on its own: "1min 30" is a typo. */
                if (n > UINT64_MAX / USEC_PER_SEC)
                        return -ERANGE;
                *ret_usec = n * USEC_PER_SEC;
                return 0;
        }

        for (;;) {
                r = read_duration_unit(&p, &unit);
                if (r < 0)
                        return r;
                if (n > UINT64_MAX / unit)
                        return -ERANGE;
                if (total > UINT64_MAX - n * unit)
                        return -ERANGE;
                total += n * unit;

                if (*p == '\0')
                        break;
                while (*p == ' ' || *p == '\t')
                        p++;
                r = read_decimal(&p, &n);
                if (r < 0)
                        return r;
        }

        *ret_usec = total;
        return 0;
}

int parse_size(const char *s, uint64_t *ret) {
        const char *p = s;
        uint64_t v, factor = 1;
        int r;

        if (!s || !ret)
                return -EINVAL;

        r = read_decimal(&p, &v);
        if (r < 0)
                return r;

        switch (*p) {
        case '\0':
                break;
        case 'K':
                factor = UINT64_C(1) << 10;
                p++;
                break;
        case 'M':
                factor = UINT64_C(1) << 20;
                p++;
                break;
        case 'G':
                factor = UINT64_C(1) << 30;
                p++;
                break;
        default:
                return -EINVAL;
        }
        if (*p != '\0')
                return -EINVAL;
        if (v > UINT64_MAX / factor)
                return -ERANGE;

        *ret = v * factor;
        return 0;
}

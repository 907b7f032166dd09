/* SPDX-License-Identifier: MIT */
/* JSON payloads on the hot path. Everything is written by hand into the caller's
 * buffer: no allocation, no printf (whose %f follows LC_NUMERIC and whose %g may
 * switch to exponents), and a payload that does not fit is an error, never cut. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <string.h>

#include "macro.h"
#include "payload.h"
#include "utf8.h"

/* Largest magnitude we print; beyond it a double has no fractional digits left and
 * no sensor measures that. */
#define VALUE_MAX 1e15
#define DECIMALS_MAX 9

/* Appends to a caller buffer, always keeping room for the NUL; once something does not
 * fit, the writer is spoiled and the result becomes -ENOBUFS. */
struct writer {
        char *buf;
        size_t size;
        size_t len;
        bool full;
};

static struct writer writer_init(char *buf, size_t size) {
        return (struct writer) { .buf = buf, .size = MIN(size, (size_t) INT_MAX) };
}

static void put(struct writer *w, const void *s, size_t n) {
        if (w->full)
                return;
        if (n >= w->size - w->len) {
                w->full = true;
                return;
        }
        memcpy(w->buf + w->len, s, n);
        w->len += n;
}

static void put_str(struct writer *w, const char *s) {
        put(w, s, strlen(s));
}

static void put_u64(struct writer *w, uint64_t v) {
        char tmp[20];
        size_t k = sizeof(tmp);

        do {
                tmp[--k] = (char) ('0' + v % 10);
                v /= 10;
        } while (v > 0);
        put(w, tmp + k, sizeof(tmp) - k);
}

/* Empties the buffer on failure so that a caller ignoring the error still publishes
 * nothing half-written. */
static int writer_fail(struct writer *w, int error) {
        if (w->size > 0)
                w->buf[0] = '\0';
        return error;
}

static int writer_finish(struct writer *w) {
        if (w->full || w->len >= w->size)
                return writer_fail(w, -ENOBUFS);
        w->buf[w->len] = '\0';
        return (int) w->len;
}

static void put_escaped(struct writer *w, const char *s, size_t len) {
        static const char hex[] = "0123456789abcdef";
        const uint8_t *p = (const uint8_t *) s;

        for (size_t i = 0; i < len && !w->full;) {
                uint8_t c = p[i];
                size_t n;

                switch (c) {
                case '"':  put(w, "\\\"", 2); i++; continue;
                case '\\': put(w, "\\\\", 2); i++; continue;
                case '\b': put(w, "\\b", 2); i++; continue;
                case '\f': put(w, "\\f", 2); i++; continue;
                case '\n': put(w, "\\n", 2); i++; continue;
                case '\r': put(w, "\\r", 2); i++; continue;
                case '\t': put(w, "\\t", 2); i++; continue;
                default:
                        break;
                }
                /* DEL is legal in JSON strings but as invisible in logs as the C0 set. */
                if (c < 0x20 || c == 0x7F) {
                        char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xF] };

                        put(w, u, sizeof(u));
                        i++;
                        continue;
                }

                n = utf8_char_length(p + i, len - i);
                if (n == 0) {
                        /* One U+FFFD per byte that starts nothing well-formed: simple, and
                         * the count of bad bytes stays visible. */
                        put(w, "\xEF\xBF\xBD", 3);
                        n = 1;
                } else
                        put(w, p + i, n);
                i += n;
        }
}

int json_escape(const char *s, size_t len, char *buf, size_t size) {
        struct writer w = writer_init(buf, size);

        put_escaped(&w, s, len);
        return writer_finish(&w);
}

static void put_digits(struct writer *w, unsigned v, size_t width) {
        char tmp[10];

        for (size_t k = width; k > 0; k--) {
                tmp[k - 1] = (char) ('0' + v % 10);
                v /= 10;
        }
        put(w, tmp, width);
}

/* Proleptic Gregorian calendar date of a day count since 1970-01-01, by splitting time
 * into 400-year cycles (146097 days) that start on March 1, so the leap day is the last
 * day of its year and every cycle looks the same (the well-known "civil from days"
 * method, published by Howard Hinnant). gmtime_r() is avoided because glibc may read
 * /etc/localtime on its first call. */
static void civil_from_days(uint64_t days, unsigned *ret_year, unsigned *ret_month, unsigned *ret_day) {
        uint64_t z = days + 719468;             /* days from 0000-03-01 to 1970-01-01 */
        uint64_t era = z / 146097;
        unsigned doe = (unsigned) (z - era * 146097);                           /* 0..146096 */
        unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;   /* 0..399 */
        unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                 /* 0..365 */
        unsigned mp = (5 * doy + 2) / 153;                                      /* 0 = March */
        unsigned month = mp < 10 ? mp + 3 : mp - 9;

        *ret_day = doy - (153 * mp + 2) / 5 + 1;
        *ret_month = month;
        *ret_year = (unsigned) (era * 400 + yoe) + (month <= 2);
}

/* 9999-12-31T23:59:59Z, the last second RFC 3339's four-digit year can express. */
#define TIMESTAMP_MAX_SEC UINT64_C(253402300799)

static int put_timestamp(struct writer *w, uint64_t realtime_usec) {
        uint64_t sec = realtime_usec / USEC_PER_SEC;
        unsigned ms = (unsigned) (realtime_usec % USEC_PER_SEC / USEC_PER_MSEC);
        unsigned sod = (unsigned) (sec % 86400);
        unsigned year, month, day;

        if (sec > TIMESTAMP_MAX_SEC)
                return -ERANGE;

        civil_from_days(sec / 86400, &year, &month, &day);
        put_digits(w, year, 4);
        put(w, "-", 1);
        put_digits(w, month, 2);
        put(w, "-", 1);
        put_digits(w, day, 2);
        put(w, "T", 1);
        put_digits(w, sod / 3600, 2);
        put(w, ":", 1);
        put_digits(w, sod / 60 % 60, 2);
        put(w, ":", 1);
        put_digits(w, sod % 60, 2);
        put(w, ".", 1);
        put_digits(w, ms, 3);
        put(w, "Z", 1);
        return 0;
}

int format_timestamp(uint64_t realtime_usec, char *buf, size_t size) {
        struct writer w = writer_init(buf, size);
        int r;

        r = put_timestamp(&w, realtime_usec);
        if (r < 0)
                return writer_fail(&w, r);
        return writer_finish(&w);
}

static const double pow10_table[DECIMALS_MAX + 1] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
};

/* Fixed-point text of v with exactly `decimals` digits after the point, from the
 * rounded integer v * 10^decimals, so it needs neither printf nor the locale. */
static int put_number(struct writer *w, double v, int decimals) {
        char tmp[32];
        double scaled;
        long long n;
        uint64_t u;
        size_t k = 0, d;

        if (!isfinite(v))
                return -EDOM;
        if (decimals < 0 || decimals > DECIMALS_MAX)
                return -EINVAL;
        d = (size_t) decimals;
        if (fabs(v) > VALUE_MAX)
                return -ERANGE;

        scaled = v * pow10_table[d];
        /* llround() is undefined beyond long long; 9.2e18 is just below 2^63. */
        if (fabs(scaled) >= 9.2e18)
                return -ERANGE;
        n = llround(scaled);            /* halfway cases away from zero */

        /* A value that rounds to zero prints without its sign: "-0" is noise. */
        if (n < 0)
                put(w, "-", 1);
        u = n < 0 ? -(uint64_t) n : (uint64_t) n;

        /* Least significant digit first, padded to one digit before the point. */
        do {
                tmp[k++] = (char) ('0' + u % 10);
                u /= 10;
        } while (u > 0);
        while (k < d + 1)
                tmp[k++] = '0';

        while (k > d) {
                k--;
                put(w, &tmp[k], 1);
        }
        if (d > 0) {
                put(w, ".", 1);
                while (k > 0) {
                        k--;
                        put(w, &tmp[k], 1);
                }
        }
        return 0;
}

int format_reading_json(const struct reading *r, const struct quantity_info *q, size_t n,
                        uint64_t realtime_usec, char *buf, size_t size) {
        struct writer w = writer_init(buf, size);
        int k;

        if (n > r->n || n > READING_MAX)
                return writer_fail(&w, -EINVAL);

        put(&w, "{", 1);
        for (size_t i = 0; i < n; i++) {
                put(&w, "\"", 1);
                put_escaped(&w, q[i].name, strlen(q[i].name));
                put(&w, "\":", 2);
                k = put_number(&w, r->value[i], q[i].decimals);
                if (k < 0)
                        return writer_fail(&w, k);
                put(&w, ",", 1);
        }
        put_str(&w, "\"ts\":\"");
        k = put_timestamp(&w, realtime_usec);
        if (k < 0)
                return writer_fail(&w, k);
        put(&w, "\"}", 2);
        return writer_finish(&w);
}

int format_error_json(const char *topic, size_t topic_len, const char *error,
                      char *buf, size_t size) {
        struct writer w = writer_init(buf, size);

        put_str(&w, "{\"topic\":\"");
        put_escaped(&w, topic, topic_len);
        put_str(&w, "\",\"error\":\"");
        if (error)
                put_escaped(&w, error, strlen(error));
        put(&w, "\"}", 2);
        return writer_finish(&w);
}

int format_stats_json(const struct gateway_stats *s, char *buf, size_t size) {
        struct writer w = writer_init(buf, size);

        put_str(&w, "{\"sent\":");
        put_u64(&w, s->sent);
        put_str(&w, ",\"queued\":");
        put_u64(&w, s->queued);
        put_str(&w, ",\"dropped\":");
        put_u64(&w, s->dropped);
        put_str(&w, ",\"reconnects\":");
        put_u64(&w, s->reconnects);
        put_str(&w, ",\"read_errors\":");
        put_u64(&w, s->read_errors);
        put_str(&w, ",\"commands\":");
        put_u64(&w, s->commands);
        put_str(&w, ",\"command_errors\":");
        put_u64(&w, s->command_errors);
        put_str(&w, ",\"uptime\":");
        put_u64(&w, s->uptime_sec);
        put_str(&w, s->connected ? ",\"connected\":true" : ",\"connected\":false");
        put_str(&w, ",\"rejected\":");
        put_u64(&w, s->rejected);
        put_str(&w, ",\"edges_lost\":");
        put_u64(&w, s->edges_lost);
        put_str(&w, "}");
        return writer_finish(&w);
}

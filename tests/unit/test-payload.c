/* SPDX-License-Identifier: MIT */
/* Unit tests for the hot-path formatters: timestamps, readings, error reports and
 * counters, byte for byte, including the buffer-too-small and bad-value cases. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "payload.h"

#define TS_2026 (UINT64_C(1795554000) * USEC_PER_SEC + 123456)  /* 2026-11-24T21:00:00.123456Z */

static char buf[512];

/* Checks the return value, the text and that nothing was written past the NUL. */
static void assert_output(int r, const char *expected) {
        ck_assert_msg(r >= 0, "failed with %d, expected \"%s\"", r, expected);
        ck_assert_str_eq(buf, expected);
        ck_assert_int_eq(r, (int) strlen(expected));
}

/* Every size below the needed one must give -ENOBUFS with an empty string (or, for
 * size 0, leave the buffer alone), never a truncated payload; the exact size works. */
#define CHECK_ALL_SIZES(call_with_size, expected)                                     \
        do {                                                                          \
                size_t _need = strlen(expected) + 1, size;                            \
                for (size = 0; size < _need; size++) {                                \
                        memset(buf, 'x', sizeof(buf));                                \
                        ck_assert_int_eq(call_with_size, -ENOBUFS);                   \
                        if (size > 0)                                                 \
                                ck_assert_int_eq(buf[0], '\0');                       \
                        ck_assert_int_eq(buf[size], 'x');                             \
                }                                                                     \
                memset(buf, 'x', sizeof(buf));                                        \
                assert_output(call_with_size, expected);                              \
                ck_assert_int_eq(buf[_need], 'x');                                    \
        } while (0)

/* timestamps */

static const struct {
        uint64_t usec;
        const char *text;
} timestamps[] = {
        { 0, "1970-01-01T00:00:00.000Z" },
        { 999, "1970-01-01T00:00:00.000Z" },                               /* truncated, not rounded */
        { 999999, "1970-01-01T00:00:00.999Z" },
        { 1000, "1970-01-01T00:00:00.001Z" },
        { TS_2026, "2026-11-24T21:00:00.123Z" },
        { UINT64_C(1709210096) * USEC_PER_SEC + 789999, "2024-02-29T12:34:56.789Z" },
        { UINT64_C(951782400) * USEC_PER_SEC, "2000-02-29T00:00:00.000Z" },  /* 400-year leap */
        { UINT64_C(946684799) * USEC_PER_SEC + 999999, "1999-12-31T23:59:59.999Z" },
        { UINT64_C(1677628800) * USEC_PER_SEC - 1, "2023-02-28T23:59:59.999Z" },
        { UINT64_C(1677628800) * USEC_PER_SEC, "2023-03-01T00:00:00.000Z" },
        { UINT64_C(4102444799) * USEC_PER_SEC + 999999, "2099-12-31T23:59:59.999Z" },
        { UINT64_C(4107456000) * USEC_PER_SEC, "2100-02-28T00:00:00.000Z" },
        { UINT64_C(4107542400) * USEC_PER_SEC, "2100-03-01T00:00:00.000Z" }, /* 2100: no Feb 29 */
        { UINT64_C(253402300799) * USEC_PER_SEC + 999999, "9999-12-31T23:59:59.999Z" },
};

START_TEST(test_timestamp) {
        memset(buf, 'x', sizeof(buf));
        assert_output(format_timestamp(timestamps[_i].usec, buf, sizeof(buf)), timestamps[_i].text);
        ck_assert_int_eq(strlen(buf), TIMESTAMP_LENGTH);
}
END_TEST

START_TEST(test_timestamp_sizes) {
        CHECK_ALL_SIZES(format_timestamp(TS_2026, buf, size), "2026-11-24T21:00:00.123Z");
        ck_assert_int_eq(format_timestamp(0, NULL, 0), -ENOBUFS);
}
END_TEST

START_TEST(test_timestamp_out_of_range) {
        /* RFC 3339 has four-digit years. */
        ck_assert_int_eq(format_timestamp(UINT64_C(253402300800) * USEC_PER_SEC, buf, sizeof(buf)), -ERANGE);
        ck_assert_int_eq(format_timestamp(UINT64_MAX, buf, sizeof(buf)), -ERANGE);
}
END_TEST

/* The C library as the oracle, one sample every 1 day + 1 h 1 min 1.001 s from 1970
 * to past 2200, so every month, leap rule and time of day gets exercised. */
START_TEST(test_timestamp_against_gmtime) {
        const uint64_t step = (UINT64_C(90061) * USEC_PER_SEC) + 1001;
        /* A 32-bit time_t (Debian 12's armhf) ends the oracle in January 2038; the
         * table above covers the later years there. */
        const uint64_t end = sizeof(time_t) < 8 ? (uint64_t) INT32_MAX : UINT64_C(7300000000);

        for (uint64_t t = 0; t < end * USEC_PER_SEC; t += step) {
                char expected[64];
                time_t secs = (time_t) (t / USEC_PER_SEC);
                struct tm tm;

                ck_assert_ptr_nonnull(gmtime_r(&secs, &tm));
                snprintf(expected, sizeof(expected), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ",
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                         tm.tm_sec, (unsigned) (t % USEC_PER_SEC / USEC_PER_MSEC));
                /* Plain ifs: a Check assertion per sample would cost a syscall each. */
                if (format_timestamp(t, buf, sizeof(buf)) != TIMESTAMP_LENGTH || !streq(buf, expected))
                        ck_abort_msg("%" PRIu64 ": \"%s\", expected \"%s\"", t, buf, expected);
        }
}
END_TEST

/* readings */

static const struct quantity_info climate[] = {
        { .name = "temperature", .unit = "°C", .device_class = "temperature", .decimals = 2 },
        { .name = "humidity", .unit = "%", .device_class = "humidity", .decimals = 1 },
        { .name = "pressure", .unit = "hPa", .device_class = "pressure", .decimals = 0 },
        { .name = "voltage0", .unit = "V", .device_class = "voltage", .decimals = 3 },
};

static int fmt1(double v, int decimals) {
        struct quantity_info q = { .name = "v", .unit = "", .decimals = decimals };
        struct reading r = { .n = 1, .value = { v } };

        memset(buf, 'x', sizeof(buf));
        return format_reading_json(&r, &q, 1, 0, buf, sizeof(buf));
}

#define TS0 ",\"ts\":\"1970-01-01T00:00:00.000Z\"}"

static const struct {
        double value;
        int decimals;
        const char *text;
} numbers[] = {
        /* Half away from zero, from value * 10^decimals in double: 21.525 is stored as
         * 21.52499999999999857891…, but 21.525 * 100 is exactly 2152.5 in double. */
        { 21.525, 2, "21.53" },
        { -21.525, 2, "-21.53" },
        { 21.524, 2, "21.52" },
        { 21.5, 2, "21.50" },
        { 45.14, 1, "45.1" },
        { 45.15, 1, "45.2" },                   /* 45.15 * 10 = 451.5 in double */
        { 1.005, 2, "1.00" },                   /* 1.005 * 100 = 100.49999999999999 */
        { 0.05, 1, "0.1" },
        { -0.05, 1, "-0.1" },
        { 0.04, 1, "0.0" },
        { 1013.5, 0, "1014" },
        { 1012.5, 0, "1013" },                  /* not to even */
        { -2.5, 0, "-3" },
        { 0.5, 0, "1" },
        { 7, 0, "7" },
        { 0, 2, "0.00" },
        { -0.0, 2, "0.00" },                    /* no "-0" */
        { -0.004, 2, "0.00" },
        { -0.4, 0, "0" },
        { -0.0, 0, "0" },
        { -0.005, 2, "-0.01" },                 /* -0.005 * 100 = -0.5 in double */
        { -1.25, 1, "-1.3" },
        { -0.25, 3, "-0.250" },
        { 0.001, 3, "0.001" },
        { -0.001, 3, "-0.001" },
        { 3.14159265, 9, "3.141592650" },
        { 123456789.123, 3, "123456789.123" },
        { 1e15, 0, "1000000000000000" },
        { -1e15, 3, "-1000000000000000.000" },
        { 1e14 + 0.5, 1, "100000000000000.5" },
};

START_TEST(test_number) {
        char expected[128];

        snprintf(expected, sizeof(expected), "{\"v\":%s" TS0, numbers[_i].text);
        assert_output(fmt1(numbers[_i].value, numbers[_i].decimals), expected);
}
END_TEST

START_TEST(test_number_rejected) {
        ck_assert_int_eq(fmt1(NAN, 1), -EDOM);
        ck_assert_int_eq(fmt1(-NAN, 1), -EDOM);
        ck_assert_int_eq(fmt1(INFINITY, 1), -EDOM);
        ck_assert_int_eq(fmt1(-INFINITY, 0), -EDOM);
        ck_assert_int_eq(fmt1(1.0000001e15, 0), -ERANGE);
        ck_assert_int_eq(fmt1(-1e16, 0), -ERANGE);
        ck_assert_int_eq(fmt1(1e300, 0), -ERANGE);
        ck_assert_int_eq(fmt1(1e15, 4), -ERANGE);       /* 1e19 does not fit 63 bits */
        ck_assert_int_eq(fmt1(1.0, -1), -EINVAL);
        ck_assert_int_eq(fmt1(1.0, 10), -EINVAL);
        ck_assert_int_eq(buf[0], '\0');
}
END_TEST

START_TEST(test_reading) {
        struct reading r = { .n = 4, .value = { 21.525, 45.14, 1013.25, -0.0004 } };

        memset(buf, 'x', sizeof(buf));
        assert_output(format_reading_json(&r, climate, 2, TS_2026, buf, sizeof(buf)),
                      "{\"temperature\":21.53,\"humidity\":45.1,\"ts\":\"2026-11-24T21:00:00.123Z\"}");
        assert_output(format_reading_json(&r, climate, 4, TS_2026, buf, sizeof(buf)),
                      "{\"temperature\":21.53,\"humidity\":45.1,\"pressure\":1013,\"voltage0\":0.000,"
                      "\"ts\":\"2026-11-24T21:00:00.123Z\"}");
        assert_output(format_reading_json(&r, climate, 0, 0, buf, sizeof(buf)),
                      "{\"ts\":\"1970-01-01T00:00:00.000Z\"}");

        /* More quantities than the reading holds. */
        r.n = 1;
        ck_assert_int_eq(format_reading_json(&r, climate, 2, 0, buf, sizeof(buf)), -EINVAL);
        r.n = READING_MAX + 1;
        ck_assert_int_eq(format_reading_json(&r, climate, READING_MAX + 1, 0, buf, sizeof(buf)), -EINVAL);

        /* One bad value spoils the whole reading: no partial payloads. */
        r.n = 2;
        r.value[1] = NAN;
        ck_assert_int_eq(format_reading_json(&r, climate, 2, 0, buf, sizeof(buf)), -EDOM);
        ck_assert_int_eq(buf[0], '\0');
}
END_TEST

START_TEST(test_reading_escapes_names) {
        struct quantity_info q = { .name = "a\"b\\c", .unit = "", .decimals = 0 };
        struct reading r = { .n = 1, .value = { 1 } };

        memset(buf, 'x', sizeof(buf));
        assert_output(format_reading_json(&r, &q, 1, 0, buf, sizeof(buf)),
                      "{\"a\\\"b\\\\c\":1" TS0);
}
END_TEST

START_TEST(test_reading_sizes) {
        struct reading r = { .n = 2, .value = { -21.525, 45.14 } };

        CHECK_ALL_SIZES(format_reading_json(&r, climate, 2, TS_2026, buf, size),
                        "{\"temperature\":-21.53,\"humidity\":45.1,\"ts\":\"2026-11-24T21:00:00.123Z\"}");
}
END_TEST

/* escaping and error reports */

static const struct {
        const char *in;
        size_t len;                     /* 0: strlen(in) */
        const char *out;
} escapes[] = {
        { "", 0, "" },
        { "plain/topic-1_x", 0, "plain/topic-1_x" },
        { "\"quoted\" \\back\\", 0, "\\\"quoted\\\" \\\\back\\\\" },
        { "\b\f\n\r\t", 0, "\\b\\f\\n\\r\\t" },
        { "\x01\x1f\x7f", 0, "\\u0001\\u001f\\u007f" },
        { "a\0b", 3, "a\\u0000b" },
        { "\xC3\xA4\xE2\x82\xAC\xF0\x9F\x98\x80", 0, "\xC3\xA4\xE2\x82\xAC\xF0\x9F\x98\x80" },
        /* Each byte that starts no well-formed character becomes U+FFFD. */
        { "\xFF", 0, "\xEF\xBF\xBD" },
        { "a\x80z", 0, "a\xEF\xBF\xBDz" },
        { "\xC0\x80", 0, "\xEF\xBF\xBD\xEF\xBF\xBD" },
        { "\xED\xA0\x80", 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
        { "x\xE2\x82", 0, "x\xEF\xBF\xBD\xEF\xBF\xBD" },
        { "\xE2\x82\"", 0, "\xEF\xBF\xBD\xEF\xBF\xBD\\\"" },
        { "\xF4\x90\x80\x80", 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
};

START_TEST(test_json_escape) {
        size_t len = escapes[_i].len ?: strlen(escapes[_i].in);

        memset(buf, 'x', sizeof(buf));
        assert_output(json_escape(escapes[_i].in, len, buf, sizeof(buf)), escapes[_i].out);
}
END_TEST

START_TEST(test_json_escape_sizes) {
        CHECK_ALL_SIZES(json_escape("a\"\n\xFF\x01", 5, buf, size), "a\\\"\\n\xEF\xBF\xBD\\u0001");
        ck_assert_int_eq(json_escape("", 0, NULL, 0), -ENOBUFS);
}
END_TEST

START_TEST(test_error_json) {
        memset(buf, 'x', sizeof(buf));
        assert_output(format_error_json("iotgwd/lamp/set", 15, "unknown command", buf, sizeof(buf)),
                      "{\"topic\":\"iotgwd/lamp/set\",\"error\":\"unknown command\"}");
        assert_output(format_error_json("", 0, NULL, buf, sizeof(buf)),
                      "{\"topic\":\"\",\"error\":\"\"}");
        assert_output(format_error_json("a\"\\\n\0\xFF", 6, "pulse_ms \"x\"", buf, sizeof(buf)),
                      "{\"topic\":\"a\\\"\\\\\\n\\u0000\xEF\xBF\xBD\",\"error\":\"pulse_ms \\\"x\\\"\"}");
        CHECK_ALL_SIZES(format_error_json("t/\"", 3, "e\n", buf, size),
                        "{\"topic\":\"t/\\\"\",\"error\":\"e\\n\"}");
}
END_TEST

/* Whatever the topic holds, json-c reads the report back, and a well-formed UTF-8
 * topic without NUL comes back unchanged. */
START_TEST(test_error_json_parses_back) {
        unsigned seed = 1;

        for (unsigned round = 0; round < 20000; round++) {
                char topic[64];
                size_t len = round % sizeof(topic);
                struct json_object *o, *t;
                int r;

                for (size_t i = 0; i < len; i++) {
                        seed = seed * 1103515245 + 12345;
                        topic[i] = (char) (seed >> 16);
                }
                if (round % 2)          /* half the rounds: printable ASCII, no NUL */
                        for (size_t i = 0; i < len; i++)
                                topic[i] = (char) (' ' + (uint8_t) topic[i] % 95);

                r = format_error_json(topic, len, "bad", buf, sizeof(buf));
                if (r <= 0)
                        ck_abort_msg("round %u: %d", round, r);
                o = json_tokener_parse(buf);
                if (!o)
                        ck_abort_msg("round %u: not JSON: %s", round, buf);
                if (!json_object_object_get_ex(o, "topic", &t) || !json_object_is_type(t, json_type_string))
                        ck_abort_msg("round %u: no topic string: %s", round, buf);
                if (round % 2 && (json_object_get_string_len(t) != (int) len ||
                                  memcmp(json_object_get_string(t), topic, len) != 0))
                        ck_abort_msg("round %u: topic changed: %s", round, buf);
                json_object_put(o);
        }
}
END_TEST

/* stats */

START_TEST(test_stats) {
        struct gateway_stats s = {
                .sent = 12, .queued = 0, .dropped = 3, .reconnects = 1, .read_errors = 7,
                .commands = 5, .command_errors = 2, .uptime_sec = 86400, .connected = true,
                .rejected = 4, .edges_lost = 936,
        };
        const char *expected =
                "{\"sent\":12,\"queued\":0,\"dropped\":3,\"reconnects\":1,\"read_errors\":7,"
                "\"commands\":5,\"command_errors\":2,\"uptime\":86400,\"connected\":true,\"rejected\":4,"
                "\"edges_lost\":936}";

        memset(buf, 'x', sizeof(buf));
        assert_output(format_stats_json(&s, buf, sizeof(buf)), expected);
        CHECK_ALL_SIZES(format_stats_json(&s, buf, size), expected);

        s = (struct gateway_stats) {
                .sent = UINT64_MAX, .queued = 10, .dropped = 100, .reconnects = 9999999999,
                .read_errors = 1, .commands = 18446744073709551614u, .uptime_sec = 59,
                .edges_lost = UINT64_MAX,
        };
        assert_output(format_stats_json(&s, buf, sizeof(buf)),
                      "{\"sent\":18446744073709551615,\"queued\":10,\"dropped\":100,"
                      "\"reconnects\":9999999999,\"read_errors\":1,\"commands\":18446744073709551614,"
                      "\"command_errors\":0,\"uptime\":59,\"connected\":false,\"rejected\":0,"
                      "\"edges_lost\":18446744073709551615}");
}
END_TEST

static Suite *payload_suite(void) {
        Suite *s = suite_create("payload");
        TCase *tc;

        tc = tcase_create("timestamp");
        tcase_add_loop_test(tc, test_timestamp, 0, ELEMENTSOF(timestamps));
        tcase_add_test(tc, test_timestamp_sizes);
        tcase_add_test(tc, test_timestamp_out_of_range);
        tcase_add_test(tc, test_timestamp_against_gmtime);
        suite_add_tcase(s, tc);

        tc = tcase_create("reading");
        tcase_add_loop_test(tc, test_number, 0, ELEMENTSOF(numbers));
        tcase_add_test(tc, test_number_rejected);
        tcase_add_test(tc, test_reading);
        tcase_add_test(tc, test_reading_escapes_names);
        tcase_add_test(tc, test_reading_sizes);
        suite_add_tcase(s, tc);

        tc = tcase_create("escape");
        tcase_add_loop_test(tc, test_json_escape, 0, ELEMENTSOF(escapes));
        tcase_add_test(tc, test_json_escape_sizes);
        tcase_add_test(tc, test_error_json);
        tcase_add_test(tc, test_error_json_parses_back);
        suite_add_tcase(s, tc);

        tc = tcase_create("stats");
        tcase_add_test(tc, test_stats);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(payload_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

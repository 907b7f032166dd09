/* SPDX-License-Identifier: MIT */
/* Unit tests for the strict value parsers in daemon/parse-util.c: good values,
 * each kind of bad value, the limits, and overflow. */
#include <check.h>
#include <errno.h>
#include <float.h>
#include <stdlib.h>

/* By directory: the build tree has an autoconf config.h of its own. */
#include "daemon/config.h"
#include "macro.h"

#define MIN_USEC (60 * USEC_PER_SEC)
#define HOUR_USEC (3600 * USEC_PER_SEC)
#define DAY_USEC (86400 * USEC_PER_SEC)

/* parse_uint_range */

START_TEST(test_uint_good) {
        static const struct {
                const char *s;
                uint64_t v;
        } good[] = {
                { "0", 0 },
                { "1", 1 },
                { "10", 10 },
                { "65535", 65535 },
                { "0x0", 0 },
                { "0x48", 0x48 },
                { "0X7f", 0x7f },
                { "0xFFFFffffFFFFffff", UINT64_MAX },
                { "18446744073709551615", UINT64_MAX },
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                uint64_t v = 12345;

                ck_assert_msg(parse_uint_range(good[i].s, 0, UINT64_MAX, &v) == 0, "\"%s\"", good[i].s);
                ck_assert_msg(v == good[i].v, "\"%s\" gave %llu", good[i].s, (unsigned long long) v);
        }
}
END_TEST

START_TEST(test_uint_bad) {
        static const char *const junk[] = {
                "", " 1", "1 ", "+1", "-1", "1x", "10x", "x10", "0x", "0xg", "1.0", "1e3",
                "010", "00", "0x 1", "٣", "1_000",
        };
        uint64_t v = 777;

        for (size_t i = 0; i < ELEMENTSOF(junk); i++)
                ck_assert_msg(parse_uint_range(junk[i], 0, UINT64_MAX, &v) == -EINVAL, "\"%s\"", junk[i]);
        ck_assert_uint_eq(v, 777);     /* untouched on failure */
        ck_assert_int_eq(parse_uint_range(NULL, 0, 10, &v), -EINVAL);
}
END_TEST

START_TEST(test_uint_limits) {
        uint64_t v = 0;

        ck_assert_int_eq(parse_uint_range("1", 1, 65535, &v), 0);
        ck_assert_uint_eq(v, 1);
        ck_assert_int_eq(parse_uint_range("65535", 1, 65535, &v), 0);
        ck_assert_uint_eq(v, 65535);
        ck_assert_int_eq(parse_uint_range("0", 1, 65535, &v), -ERANGE);
        ck_assert_int_eq(parse_uint_range("65536", 1, 65535, &v), -ERANGE);
        ck_assert_int_eq(parse_uint_range("0x2", 3, 0x77, &v), -ERANGE);
        ck_assert_int_eq(parse_uint_range("0x78", 3, 0x77, &v), -ERANGE);
        ck_assert_uint_eq(v, 65535);
}
END_TEST

START_TEST(test_uint_overflow) {
        uint64_t v = 5;

        ck_assert_int_eq(parse_uint_range("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
        ck_assert_int_eq(parse_uint_range("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
        ck_assert_int_eq(parse_uint_range("0x10000000000000000", 0, UINT64_MAX, &v), -ERANGE);
        ck_assert_uint_eq(v, 5);
}
END_TEST

/* parse_boolean */

START_TEST(test_boolean) {
        static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True", "On" };
        static const char *const no[] = { "no", "false", "off", "0", "NO", "False", "OFF" };
        static const char *const bad[] = { "", "y", "n", "2", "yes ", " no", "enable", "01", "tru", "yess" };
        bool b;

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                b = false;
                ck_assert_msg(parse_boolean(yes[i], &b) == 0 && b, "\"%s\"", yes[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(no); i++) {
                b = true;
                ck_assert_msg(parse_boolean(no[i], &b) == 0 && !b, "\"%s\"", no[i]);
        }
        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                b = true;
                ck_assert_msg(parse_boolean(bad[i], &b) == -EINVAL, "\"%s\"", bad[i]);
                ck_assert(b);
        }
        ck_assert_int_eq(parse_boolean(NULL, &b), -EINVAL);
}
END_TEST

/* parse_double */

START_TEST(test_double_good) {
        static const struct {
                const char *s;
                double v;
        } good[] = {
                { "0", 0 },
                { "1", 1 },
                { "-1", -1 },
                { "+2.5", 2.5 },
                { "2.048", 2.048 },
                { ".5", 0.5 },
                { "5.", 5 },
                { "1e3", 1000 },
                { "1.5E-3", 0.0015 },
                { "-0.001", -0.001 },
                { "1e308", 1e308 },
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                double d = 42;

                ck_assert_msg(parse_double(good[i].s, &d) == 0, "\"%s\"", good[i].s);
                ck_assert_msg(d == good[i].v, "\"%s\" gave %g", good[i].s, d);
        }
}
END_TEST

START_TEST(test_double_bad) {
        static const char *const junk[] = {
                "", " 1", "1 ", "1x", "1.0.0", ".", "-", "+", "e3", "1e", "1e+", "--1", "+-1",
                "inf", "-inf", "nan", "NaN", "infinity", "0x1p3", "0x10", "1,5", "1 e3",
        };
        double d = 3;

        for (size_t i = 0; i < ELEMENTSOF(junk); i++)
                ck_assert_msg(parse_double(junk[i], &d) == -EINVAL, "\"%s\"", junk[i]);
        ck_assert(d == 3);
        ck_assert_int_eq(parse_double(NULL, &d), -EINVAL);
}
END_TEST

START_TEST(test_double_range) {
        double d = 3;

        ck_assert_int_eq(parse_double("1e309", &d), -ERANGE);
        ck_assert_int_eq(parse_double("-1e999", &d), -ERANGE);
        ck_assert_int_eq(parse_double("1e-400", &d), -ERANGE);
        ck_assert(d == 3);
}
END_TEST

/* parse_duration */

START_TEST(test_duration_good) {
        static const struct {
                const char *s;
                uint64_t usec;
        } good[] = {
                { "0", 0 },
                { "10", 10 * USEC_PER_SEC },
                { "250us", 250 },
                { "500ms", 500 * USEC_PER_MSEC },
                { "10s", 10 * USEC_PER_SEC },
                { "5min", 5 * MIN_USEC },
                { "1h", HOUR_USEC },
                { "1d", DAY_USEC },
                { "0ms", 0 },
                { "1min 30s", MIN_USEC + 30 * USEC_PER_SEC },
                { "1min30s", MIN_USEC + 30 * USEC_PER_SEC },
                { "1h\t5min 2s 3ms", HOUR_USEC + 5 * MIN_USEC + 2 * USEC_PER_SEC + 3 * USEC_PER_MSEC },
                { "1s 1s", 2 * USEC_PER_SEC },
                { "18446744073709551615us", UINT64_MAX },
                { "18446744073709s", UINT64_C(18446744073709) * USEC_PER_SEC },
        };

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                uint64_t v = 99;

                ck_assert_msg(parse_duration(good[i].s, &v) == 0, "\"%s\"", good[i].s);
                ck_assert_msg(v == good[i].usec, "\"%s\" gave %llu", good[i].s, (unsigned long long) v);
        }
}
END_TEST

START_TEST(test_duration_bad) {
        static const char *const junk[] = {
                "", " ", " 1s", "1s ", "-1s", "-1", "+1s", "s", "ms", "1x", "10x", "1m", "1sec",
                "1 s", "1.5s", "1min 30", "1min ", "1S", "1MS", "1mss", "1s,2s", "1hh", "0x10s",
                "1us5", "min", "1d1",
        };
        uint64_t v = 99;

        for (size_t i = 0; i < ELEMENTSOF(junk); i++)
                ck_assert_msg(parse_duration(junk[i], &v) == -EINVAL, "\"%s\"", junk[i]);
        ck_assert_uint_eq(v, 99);
        ck_assert_int_eq(parse_duration(NULL, &v), -EINVAL);
}
END_TEST

START_TEST(test_duration_overflow) {
        uint64_t v = 99;

        /* Each of these is one past what fits in 64 bits of microseconds. */
        ck_assert_int_eq(parse_duration("18446744073709551616us", &v), -ERANGE);
        ck_assert_int_eq(parse_duration("18446744073710", &v), -ERANGE);
        ck_assert_int_eq(parse_duration("18446744073710s", &v), -ERANGE);
        ck_assert_int_eq(parse_duration("213503983d", &v), -ERANGE);
        ck_assert_int_eq(parse_duration("18446744073709551615us 1us", &v), -ERANGE);
        ck_assert_int_eq(parse_duration("213503982d 1d", &v), -ERANGE);
        ck_assert_int_eq(parse_duration("99999999999999999999999s", &v), -ERANGE);
        ck_assert_uint_eq(v, 99);
        /* ... and the largest that does. */
        ck_assert_int_eq(parse_duration("213503982d", &v), 0);
        ck_assert_uint_eq(v, UINT64_C(213503982) * DAY_USEC);
}
END_TEST

/* parse_size */

START_TEST(test_size) {
        static const struct {
                const char *s;
                uint64_t v;
        } good[] = {
                { "0", 0 },
                { "4096", 4096 },
                { "4K", 4096 },
                { "4M", 4194304 },
                { "1G", UINT64_C(1) << 30 },
                { "17179869183G", UINT64_C(17179869183) << 30 },
        };
        static const char *const junk[] = {
                "", "K", "4k", "4m", "4KB", "4KiB", "4 K", " 4", "4 ", "-4", "+4", "4.5M", "0x10",
                "4T", "4MK",
        };
        uint64_t v;

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                v = 1;
                ck_assert_msg(parse_size(good[i].s, &v) == 0, "\"%s\"", good[i].s);
                ck_assert_msg(v == good[i].v, "\"%s\"", good[i].s);
        }
        v = 1;
        for (size_t i = 0; i < ELEMENTSOF(junk); i++)
                ck_assert_msg(parse_size(junk[i], &v) == -EINVAL, "\"%s\"", junk[i]);
        ck_assert_int_eq(parse_size("17179869184G", &v), -ERANGE);
        ck_assert_int_eq(parse_size("18014398509481984K", &v), -ERANGE);
        ck_assert_int_eq(parse_size("18446744073709551616", &v), -ERANGE);
        ck_assert_uint_eq(v, 1);
}
END_TEST

static Suite *parse_suite(void) {
        Suite *s = suite_create("parse");
        TCase *tc = tcase_create("parse");

        tcase_add_test(tc, test_uint_good);
        tcase_add_test(tc, test_uint_bad);
        tcase_add_test(tc, test_uint_limits);
        tcase_add_test(tc, test_uint_overflow);
        tcase_add_test(tc, test_boolean);
        tcase_add_test(tc, test_double_good);
        tcase_add_test(tc, test_double_bad);
        tcase_add_test(tc, test_double_range);
        tcase_add_test(tc, test_duration_good);
        tcase_add_test(tc, test_duration_bad);
        tcase_add_test(tc, test_duration_overflow);
        tcase_add_test(tc, test_size);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(parse_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

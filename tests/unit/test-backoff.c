/* Unit tests for the reconnect back-off: bounds, growth, jitter and reset. */
#include <check.h>
#include <stdlib.h>

#include "backoff.h"
#include "macro.h"

#define MIN_D (1 * USEC_PER_SEC)
#define MAX_D (60 * USEC_PER_SEC)

START_TEST(test_bounds)
{
        for (uint64_t seed = 1; seed < 200; seed++) {
                struct backoff b;

                backoff_init(&b, MIN_D, MAX_D, seed);
                for (int i = 0; i < 40; i++) {
                        uint64_t d = backoff_next(&b);

                        ck_assert_uint_ge(d, MIN_D);
                        ck_assert_uint_le(d, MAX_D);
                }
        }
}
END_TEST

START_TEST(test_growth)
{
        struct backoff b;
        uint64_t base = MIN_D;

        backoff_init(&b, MIN_D, MAX_D, 42);
        /* Attempt n is jittered within [base/2, base] with base = min * 2^n, capped. */
        for (int i = 0; i < 12; i++) {
                uint64_t d = backoff_next(&b);

                ck_assert_uint_ge(d, MAX(base / 2, MIN_D));
                ck_assert_uint_le(d, base);
                base = MIN(base * 2, MAX_D);
        }
        /* Saturated: never below half of the maximum again. */
        for (int i = 0; i < 100; i++)
                ck_assert_uint_ge(backoff_next(&b), MAX_D / 2);
}
END_TEST

START_TEST(test_jitter_spreads)
{
        uint64_t lo = UINT64_MAX, hi = 0;

        /* The same attempt with different seeds must not all pick the same delay, and
         * must cover a good part of [max/2, max]. */
        for (uint64_t seed = 1; seed <= 500; seed++) {
                struct backoff b;
                uint64_t d = 0;

                backoff_init(&b, MIN_D, MAX_D, seed * 7919);
                for (int i = 0; i < 10; i++)
                        d = backoff_next(&b);
                lo = MIN(lo, d);
                hi = MAX(hi, d);
        }
        ck_assert_uint_ge(lo, MAX_D / 2);
        ck_assert_uint_le(hi, MAX_D);
        ck_assert_uint_gt(hi - lo, MAX_D / 4);
}
END_TEST

START_TEST(test_deterministic_seed)
{
        struct backoff a, b;

        backoff_init(&a, MIN_D, MAX_D, 1234);
        backoff_init(&b, MIN_D, MAX_D, 1234);
        for (int i = 0; i < 20; i++)
                ck_assert_uint_eq(backoff_next(&a), backoff_next(&b));
}
END_TEST

START_TEST(test_reset)
{
        struct backoff b;

        backoff_init(&b, MIN_D, MAX_D, 0);
        for (int i = 0; i < 20; i++)
                backoff_next(&b);
        ck_assert_uint_ge(backoff_next(&b), MAX_D / 2);
        backoff_reset(&b);
        ck_assert_uint_eq(backoff_next(&b), MIN_D);
        ck_assert_uint_le(backoff_next(&b), 2 * MIN_D);
}
END_TEST

START_TEST(test_degenerate_bounds)
{
        struct backoff b;

        backoff_init(&b, 5 * USEC_PER_SEC, USEC_PER_SEC, 9);
        for (int i = 0; i < 10; i++)
                ck_assert_uint_eq(backoff_next(&b), 5 * USEC_PER_SEC);
}
END_TEST

static Suite *backoff_suite(void)
{
        Suite *s = suite_create("backoff");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_bounds);
        tcase_add_test(tc, test_growth);
        tcase_add_test(tc, test_jitter_spreads);
        tcase_add_test(tc, test_deterministic_seed);
        tcase_add_test(tc, test_reset);
        tcase_add_test(tc, test_degenerate_bounds);
        suite_add_tcase(s, tc);
        return s;
}

int main(void)
{
        SRunner *sr = srunner_create(backoff_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for the reconnect back-off: bounds, growth, jitter, reset, and what a
 * connection's lifetime does to it (time passed in, nothing sleeps). */
#include <check.h>
#include <stdlib.h>

#include "backoff.h"
#include "macro.h"

#define MIN_D (1 * USEC_PER_SEC)
#define MAX_D (60 * USEC_PER_SEC)

START_TEST(test_bounds) {
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

START_TEST(test_growth) {
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

START_TEST(test_jitter_spreads) {
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

START_TEST(test_deterministic_seed) {
        struct backoff a, b;

        backoff_init(&a, MIN_D, MAX_D, 1234);
        backoff_init(&b, MIN_D, MAX_D, 1234);
        for (int i = 0; i < 20; i++)
                ck_assert_uint_eq(backoff_next(&a), backoff_next(&b));
}
END_TEST

START_TEST(test_reset) {
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

START_TEST(test_degenerate_bounds) {
        struct backoff b;

        backoff_init(&b, 5 * USEC_PER_SEC, USEC_PER_SEC, 9);
        for (int i = 0; i < 10; i++)
                ck_assert_uint_eq(backoff_next(&b), 5 * USEC_PER_SEC);
}
END_TEST

/* Delays grown by `n` failed attempts; the next one is at least half the maximum. */
static void grow(struct backoff *b, int n) {
        for (int i = 0; i < n; i++)
                backoff_next(b);
}

START_TEST(test_connack_does_not_reset) {
        struct backoff b;
        uint64_t now = 1000 * USEC_PER_SEC;

        backoff_init(&b, MIN_D, MAX_D, 5);
        grow(&b, 20);
        /* Accepted, then dropped a moment later, again and again: the delays keep
         * their size instead of falling back to the minimum every time. */
        for (int i = 0; i < 50; i++) {
                backoff_connected(&b, now);
                now += USEC_PER_SEC / 10;
                backoff_disconnected(&b, now);
                ck_assert_uint_ge(backoff_next(&b), MAX_D / 2);
                now += MAX_D;
        }
}
END_TEST

START_TEST(test_growth_across_short_connections) {
        struct backoff b;
        uint64_t now = 5 * USEC_PER_SEC, base = MIN_D;

        /* A broker that accepts and drops at once grows the delays the same way as one
         * that refuses: attempt n waits at least min * 2^n / 2. */
        backoff_init(&b, MIN_D, MAX_D, 77);
        for (int i = 0; i < 8; i++) {
                uint64_t d;

                backoff_connected(&b, now);
                backoff_disconnected(&b, now + USEC_PER_SEC);
                d = backoff_next(&b);
                ck_assert_uint_ge(d, MAX(base / 2, MIN_D));
                ck_assert_uint_le(d, base);
                base = MIN(base * 2, MAX_D);
                now += USEC_PER_SEC + d;
        }
}
END_TEST

START_TEST(test_stable_connection_resets) {
        struct backoff b;
        uint64_t now = 7 * USEC_PER_SEC;

        backoff_init(&b, MIN_D, MAX_D, 3);
        grow(&b, 20);
        backoff_connected(&b, now);
        ck_assert_uint_eq(backoff_disconnected(&b, now + BACKOFF_STABLE_USEC), 0);
        ck_assert_uint_eq(backoff_next(&b), MIN_D);

        /* Just short of stable: no reset. */
        grow(&b, 20);
        backoff_connected(&b, now);
        ck_assert_uint_eq(backoff_disconnected(&b, now + BACKOFF_STABLE_USEC - 1), 0);
        ck_assert_uint_ge(backoff_next(&b), MAX_D / 2);
}
END_TEST

START_TEST(test_short_lived_count) {
        struct backoff b;
        uint64_t now = 100 * USEC_PER_SEC;

        backoff_init(&b, MIN_D, MAX_D, 11);
        for (unsigned i = 1; i <= 4; i++) {
                backoff_connected(&b, now);
                now += BACKOFF_SHORT_LIVED_USEC - 1;
                ck_assert_uint_eq(backoff_disconnected(&b, now), i);
                now += 10 * USEC_PER_SEC;
        }

        /* One connection that lasted a little longer ends the run. */
        backoff_connected(&b, now);
        now += BACKOFF_SHORT_LIVED_USEC;
        ck_assert_uint_eq(backoff_disconnected(&b, now), 0);
        backoff_connected(&b, now);
        ck_assert_uint_eq(backoff_disconnected(&b, now), 1);

        /* So does a stable one. */
        backoff_connected(&b, now);
        now += BACKOFF_STABLE_USEC;
        ck_assert_uint_eq(backoff_disconnected(&b, now), 0);
}
END_TEST

START_TEST(test_failed_attempts_leave_count_alone) {
        struct backoff b;
        uint64_t now = 100 * USEC_PER_SEC;

        backoff_init(&b, MIN_D, MAX_D, 13);
        for (unsigned i = 1; i <= 2; i++) {
                backoff_connected(&b, now);
                ck_assert_uint_eq(backoff_disconnected(&b, now + USEC_PER_SEC), i);
                now += 10 * USEC_PER_SEC;
        }
        /* Attempts that never got a CONNACK (refused, unreachable) are neither
         * connections nor the end of a run. */
        for (int i = 0; i < 5; i++) {
                backoff_next(&b);
                ck_assert_uint_eq(backoff_disconnected(&b, now), 0);
        }
        backoff_connected(&b, now);
        ck_assert_uint_eq(backoff_disconnected(&b, now + USEC_PER_SEC), 3);
}
END_TEST

START_TEST(test_clock_backwards) {
        struct backoff b;

        backoff_init(&b, MIN_D, MAX_D, 17);
        grow(&b, 20);
        backoff_connected(&b, 50 * USEC_PER_SEC);
        ck_assert_uint_eq(backoff_disconnected(&b, 10 * USEC_PER_SEC), 1);
        ck_assert_uint_ge(backoff_next(&b), MAX_D / 2);
}
END_TEST

static Suite *backoff_suite(void) {
        Suite *s = suite_create("backoff");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_bounds);
        tcase_add_test(tc, test_growth);
        tcase_add_test(tc, test_jitter_spreads);
        tcase_add_test(tc, test_deterministic_seed);
        tcase_add_test(tc, test_reset);
        tcase_add_test(tc, test_degenerate_bounds);
        tcase_add_test(tc, test_connack_does_not_reset);
        tcase_add_test(tc, test_growth_across_short_connections);
        tcase_add_test(tc, test_stable_connection_resets);
        tcase_add_test(tc, test_short_lived_count);
        tcase_add_test(tc, test_failed_attempts_leave_count_alone);
        tcase_add_test(tc, test_clock_backwards);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(backoff_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

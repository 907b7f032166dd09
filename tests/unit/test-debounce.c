/* SPDX-License-Identifier: MIT */
/* Unit tests for the pure debouncer: edge sequences with explicit times, no sleeping. */
#include <check.h>
#include <stdint.h>

#include "debounce.h"
#include "macro.h"

#define MS(x) ((uint64_t) (x) * USEC_PER_MSEC)

/* Feeds one edge and checks that nothing is reported; returns the deadline. */
static uint64_t feed_quiet(struct debounce *d, bool raw, uint64_t t) {
        struct debounce_change c = { .value = !raw, .timestamp_usec = 12345 };
        uint64_t deadline = 0;

        ck_assert_int_eq(debounce_feed(d, raw, t, &c, &deadline), 0);
        return deadline;
}

START_TEST(test_clean_edge) {
        struct debounce d;
        struct debounce_change c;
        uint64_t deadline;

        debounce_init(&d, MS(10), false);
        ck_assert(!debounce_value(&d));

        ck_assert_uint_eq(feed_quiet(&d, true, MS(1)), MS(11));
        ck_assert(!debounce_value(&d));

        /* One microsecond early: still waiting, same deadline. */
        ck_assert_int_eq(debounce_expire(&d, MS(11) - 1, &c, &deadline), 0);
        ck_assert_uint_eq(deadline, MS(11));
        ck_assert(!debounce_value(&d));

        ck_assert_int_eq(debounce_expire(&d, MS(11), &c, &deadline), 1);
        ck_assert(c.value);
        ck_assert_uint_eq(c.timestamp_usec, MS(1));
        ck_assert_uint_eq(deadline, DEBOUNCE_NEVER);
        ck_assert(debounce_value(&d));

        /* Reported once only. */
        ck_assert_int_eq(debounce_expire(&d, MS(50), &c, &deadline), 0);
        ck_assert_uint_eq(deadline, DEBOUNCE_NEVER);
}
END_TEST

START_TEST(test_falling_edge_from_high) {
        struct debounce d;
        struct debounce_change c;
        uint64_t deadline;

        debounce_init(&d, MS(5), true);
        ck_assert(debounce_value(&d));
        ck_assert_uint_eq(feed_quiet(&d, false, MS(100)), MS(105));
        ck_assert_int_eq(debounce_expire(&d, MS(200), &c, &deadline), 1);
        ck_assert(!c.value);
        ck_assert_uint_eq(c.timestamp_usec, MS(100));
        ck_assert(!debounce_value(&d));
}
END_TEST

START_TEST(test_bounce_burst_one_change) {
        struct debounce d;
        struct debounce_change c;
        uint64_t deadline;

        debounce_init(&d, MS(20), false);
        feed_quiet(&d, true, MS(0));
        feed_quiet(&d, false, MS(1));
        feed_quiet(&d, true, MS(2));
        feed_quiet(&d, false, MS(3));
        /* The last edge starts the level that holds: the window counts from it. */
        ck_assert_uint_eq(feed_quiet(&d, true, MS(4)), MS(24));

        ck_assert_int_eq(debounce_expire(&d, MS(23), &c, &deadline), 0);
        ck_assert_uint_eq(deadline, MS(24));
        ck_assert_int_eq(debounce_expire(&d, MS(24), &c, &deadline), 1);
        ck_assert(c.value);
        ck_assert_uint_eq(c.timestamp_usec, MS(4));
        ck_assert_uint_eq(deadline, DEBOUNCE_NEVER);
        ck_assert_int_eq(debounce_expire(&d, MS(100), &c, &deadline), 0);
}
END_TEST

START_TEST(test_bounce_back_no_change) {
        struct debounce d;
        struct debounce_change c;
        uint64_t deadline;

        debounce_init(&d, MS(20), false);
        ck_assert_uint_eq(feed_quiet(&d, true, MS(0)), MS(20));
        ck_assert_uint_eq(feed_quiet(&d, false, MS(2)), DEBOUNCE_NEVER);
        ck_assert_uint_eq(feed_quiet(&d, true, MS(3)), MS(23));
        ck_assert_uint_eq(feed_quiet(&d, false, MS(19)), DEBOUNCE_NEVER);

        /* A timer armed earlier may still fire: it must report nothing. */
        ck_assert_int_eq(debounce_expire(&d, MS(20), &c, &deadline), 0);
        ck_assert_uint_eq(deadline, DEBOUNCE_NEVER);
        ck_assert_int_eq(debounce_expire(&d, MS(1000), &c, &deadline), 0);
        ck_assert(!debounce_value(&d));
}
END_TEST

START_TEST(test_long_window) {
        struct debounce d;
        struct debounce_change c;
        uint64_t deadline;
        const uint64_t t0 = 3600 * USEC_PER_SEC;

        debounce_init(&d, 30 * USEC_PER_SEC, false);
        ck_assert_uint_eq(feed_quiet(&d, true, t0), t0 + 30 * USEC_PER_SEC);
        /* Bounces many seconds apart, all within the window of the level before. */
        ck_assert_uint_eq(feed_quiet(&d, false, t0 + 29 * USEC_PER_SEC), DEBOUNCE_NEVER);
        ck_assert_uint_eq(feed_quiet(&d, true, t0 + 40 * USEC_PER_SEC), t0 + 70 * USEC_PER_SEC);
        ck_assert_int_eq(debounce_expire(&d, t0 + 69 * USEC_PER_SEC, &c, &deadline), 0);
        ck_assert_int_eq(debounce_expire(&d, t0 + 70 * USEC_PER_SEC, &c, &deadline), 1);
        ck_assert(c.value);
        ck_assert_uint_eq(c.timestamp_usec, t0 + 40 * USEC_PER_SEC);
}
END_TEST

START_TEST(test_window_boundary) {
        struct debounce d;
        struct debounce_change c;
        uint64_t deadline;

        /* An edge one microsecond before the window closes is a bounce. */
        debounce_init(&d, MS(10), false);
        feed_quiet(&d, true, MS(0));
        ck_assert_uint_eq(feed_quiet(&d, false, MS(10) - 1), DEBOUNCE_NEVER);
        ck_assert_int_eq(debounce_expire(&d, MS(100), &c, &deadline), 0);
        ck_assert(!debounce_value(&d));

        /* An edge exactly when the window closes: the level before it has held for
         * the full window, so it is reported, and the new edge starts a new wait. */
        debounce_init(&d, MS(10), false);
        feed_quiet(&d, true, MS(0));
        ck_assert_int_eq(debounce_feed(&d, false, MS(10), &c, &deadline), 1);
        ck_assert(c.value);
        ck_assert_uint_eq(c.timestamp_usec, MS(0));
        ck_assert_uint_eq(deadline, MS(20));
        ck_assert(debounce_value(&d));

        ck_assert_int_eq(debounce_expire(&d, MS(20), &c, &deadline), 1);
        ck_assert(!c.value);
        ck_assert_uint_eq(c.timestamp_usec, MS(10));
        ck_assert(!debounce_value(&d));
}
END_TEST

START_TEST(test_late_events_in_one_batch) {
        struct debounce d;
        struct debounce_change c;
        uint64_t deadline;

        /* Events read together after the loop was busy: the kernel timestamps show
         * the first level held long enough, so it is reported before the next. */
        debounce_init(&d, MS(10), false);
        feed_quiet(&d, true, MS(0));
        ck_assert_int_eq(debounce_feed(&d, false, MS(50), &c, &deadline), 1);
        ck_assert(c.value);
        ck_assert_uint_eq(c.timestamp_usec, MS(0));
        ck_assert_uint_eq(deadline, MS(60));

        ck_assert_int_eq(debounce_expire(&d, MS(70), &c, &deadline), 1);
        ck_assert(!c.value);
        ck_assert_uint_eq(c.timestamp_usec, MS(50));
}
END_TEST

START_TEST(test_repeated_level_keeps_window) {
        struct debounce d;
        struct debounce_change c;
        uint64_t deadline;

        /* A repeated report of the same level is no edge: it must not restart the
         * window, nor move the timestamp. */
        debounce_init(&d, MS(10), false);
        ck_assert_uint_eq(feed_quiet(&d, true, MS(0)), MS(10));
        ck_assert_uint_eq(feed_quiet(&d, true, MS(5)), MS(10));
        ck_assert_int_eq(debounce_expire(&d, MS(10), &c, &deadline), 1);
        ck_assert_uint_eq(c.timestamp_usec, MS(0));

        /* The stable level repeated: nothing pending, nothing reported. */
        ck_assert_uint_eq(feed_quiet(&d, true, MS(30)), DEBOUNCE_NEVER);
        ck_assert_int_eq(debounce_expire(&d, MS(100), &c, &deadline), 0);
}
END_TEST

START_TEST(test_zero_window) {
        struct debounce d;
        struct debounce_change c;
        uint64_t deadline = 0;

        debounce_init(&d, 0, false);

        ck_assert_int_eq(debounce_feed(&d, true, MS(5), &c, &deadline), 1);
        ck_assert(c.value);
        ck_assert_uint_eq(c.timestamp_usec, MS(5));
        ck_assert_uint_eq(deadline, DEBOUNCE_NEVER);
        ck_assert(debounce_value(&d));

        /* Only a change of value is reported. */
        ck_assert_uint_eq(feed_quiet(&d, true, MS(6)), DEBOUNCE_NEVER);

        /* Every real edge is reported, even at the same instant. */
        ck_assert_int_eq(debounce_feed(&d, false, MS(6), &c, &deadline), 1);
        ck_assert(!c.value);
        ck_assert_uint_eq(c.timestamp_usec, MS(6));
        ck_assert_int_eq(debounce_feed(&d, true, MS(6), &c, &deadline), 1);
        ck_assert(c.value);
        ck_assert(debounce_value(&d));

        ck_assert_int_eq(debounce_expire(&d, MS(100), &c, &deadline), 0);
        ck_assert_uint_eq(deadline, DEBOUNCE_NEVER);
}
END_TEST

START_TEST(test_huge_window_no_overflow) {
        struct debounce d;
        struct debounce_change c;
        uint64_t deadline;

        /* The deadline saturates instead of wrapping to a time in the past. */
        debounce_init(&d, UINT64_MAX - 10, false);
        ck_assert_uint_eq(feed_quiet(&d, true, MS(1)), DEBOUNCE_NEVER);
        ck_assert_int_eq(debounce_expire(&d, UINT64_MAX - 1, &c, &deadline), 0);
        ck_assert(!debounce_value(&d));
}
END_TEST

static Suite *debounce_suite(void) {
        Suite *s = suite_create("debounce");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_clean_edge);
        tcase_add_test(tc, test_falling_edge_from_high);
        tcase_add_test(tc, test_bounce_burst_one_change);
        tcase_add_test(tc, test_bounce_back_no_change);
        tcase_add_test(tc, test_long_window);
        tcase_add_test(tc, test_window_boundary);
        tcase_add_test(tc, test_late_events_in_one_batch);
        tcase_add_test(tc, test_repeated_level_keeps_window);
        tcase_add_test(tc, test_zero_window);
        tcase_add_test(tc, test_huge_window_no_overflow);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(debounce_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* Unit tests for the retry schedule of GPIO lines that could not be requested at
 * start-up: the delays, and the timer that runs the attempts until one succeeds. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>

#include "daemon/line-retry.h"

START_TEST(test_delays) {
        uint64_t d = 0;

        d = line_retry_next_delay(d);
        ck_assert_uint_eq(d, LINE_RETRY_MIN_USEC);
        d = line_retry_next_delay(d);
        ck_assert_uint_eq(d, 2 * LINE_RETRY_MIN_USEC);
        for (int i = 0; i < 100; i++)
                d = line_retry_next_delay(d);
        ck_assert_uint_eq(d, LINE_RETRY_MAX_USEC);
}
END_TEST

struct attempts {
        int left;       /* failures still to give */
        int calls;
};

static int request(void *userdata) {
        struct attempts *a = userdata;

        a->calls++;
        return a->left-- > 0 ? -EBUSY : 0;
}

/* One more failure, then success: the first retry fails, the second succeeds and the
 * timer is gone. The loop runs on the real clock: this takes 1 + 2 s. */
START_TEST(test_attempts_until_success) {
        struct line_retry lr = {};
        struct attempts a = { .left = 1 };
        sd_event *e = NULL;

        ck_assert_int_ge(sd_event_new(&e), 0);
        ck_assert_int_ge(line_retry_start(&lr, e, -EBUSY, "input", request, &a), 0);
        ck_assert_uint_eq(lr.failures, 1);
        ck_assert_int_eq(lr.error, -EBUSY);
        while (lr.timer)
                ck_assert_int_ge(sd_event_run(e, UINT64_MAX), 0);
        ck_assert_int_eq(a.calls, 2);
        ck_assert_uint_eq(lr.failures, 0);
        ck_assert_uint_eq(lr.delay_usec, 0);
        line_retry_clear(&lr);
        sd_event_unref(e);
}
END_TEST

int main(void) {
        Suite *s = suite_create("line-retry");
        TCase *tc = tcase_create("line-retry");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_delays);
        tcase_add_test(tc, test_attempts_until_success);
        tcase_set_timeout(tc, 30);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

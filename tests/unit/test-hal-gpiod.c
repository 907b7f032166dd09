/* SPDX-License-Identifier: MIT */
/* The libgpiod backend without hardware: what it answers for chips that do not exist.
 * Skipped (exit 77) in a build without libgpiod; tests/vm drives it on a real kernel. */
#include <check.h>
#include <errno.h>
#include <stdio.h>

#include "hal.h"

#if defined(HAVE_GPIOD_V1) || defined(HAVE_GPIOD_V2)
static void on_change(struct hal_input *input, bool value, uint64_t timestamp_usec, void *userdata) {
        (void) input, (void) value, (void) timestamp_usec, (void) userdata;
        ck_abort_msg("no edge expected");
}

START_TEST(test_gpiod_missing_chip) {
        struct hal_options o = { .backend = "gpiod", .consumer = "test" };
        struct hal_input_config ic = { .name = "in", .chip = "iotgwd-test-no-such-chip", .line = "1" };
        struct hal_output_config oc = { .name = "out", .chip = "gpiochip-iotgwd-test", .line = "LED" };
        struct hal_input *in = NULL;
        struct hal_output *out = NULL;
        struct hal *hal = NULL;
        sd_event *e = NULL;

        /* No hardware needed: a chip that no label, name or path matches. */
        ck_assert_int_eq(sd_event_new(&e), 0);
        ck_assert_int_eq(hal_new(e, &o, &hal), 0);
        ck_assert_int_eq(hal_input_request(hal, &ic, on_change, NULL, &in), -ENOENT);
        ck_assert_ptr_null(in);
        ck_assert_int_eq(hal_output_request(hal, &oc, &out), -ENOENT);
        ck_assert_ptr_null(out);
        hal_free(hal);
        sd_event_unref(e);
}
END_TEST

int main(void) {
        Suite *s = suite_create("hal-gpiod");
        TCase *tc = tcase_create("no-hardware");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_gpiod_missing_chip);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}
#else
int main(void) {
        printf("SKIP: built without libgpiod\n");
        return 77;   /* automake's "skipped" */
}
#endif

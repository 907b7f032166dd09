/* SPDX-License-Identifier: MIT */
/* The log module's stderr lines: "<N>" prefixes for a service manager, plain marked
 * lines on a terminal, and which of the two (or the journal) log_open() picks. */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

START_TEST(test_prefixed_lines) {
        char buf[64];

        ck_assert_int_eq(log_format_line(LOG_TARGET_PREFIXED, LOG_INFO, "started", buf, sizeof(buf)), 11);
        ck_assert_str_eq(buf, "<6>started\n");
        log_format_line(LOG_TARGET_PREFIXED, LOG_WARNING, "slow", buf, sizeof(buf));
        ck_assert_str_eq(buf, "<4>slow\n");
        log_format_line(LOG_TARGET_PREFIXED, LOG_ERR, "broken", buf, sizeof(buf));
        ck_assert_str_eq(buf, "<3>broken\n");
}
END_TEST

START_TEST(test_terminal_lines) {
        char buf[64];

        log_format_line(LOG_TARGET_TERMINAL, LOG_INFO, "started", buf, sizeof(buf));
        ck_assert_str_eq(buf, "started\n");
        log_format_line(LOG_TARGET_TERMINAL, LOG_NOTICE, "again", buf, sizeof(buf));
        ck_assert_str_eq(buf, "again\n");
        log_format_line(LOG_TARGET_TERMINAL, LOG_DEBUG, "detail", buf, sizeof(buf));
        ck_assert_str_eq(buf, "detail\n");
        log_format_line(LOG_TARGET_TERMINAL, LOG_WARNING, "slow", buf, sizeof(buf));
        ck_assert_str_eq(buf, "warning: slow\n");
        log_format_line(LOG_TARGET_TERMINAL, LOG_ERR, "broken", buf, sizeof(buf));
        ck_assert_str_eq(buf, "error: broken\n");
        log_format_line(LOG_TARGET_TERMINAL, LOG_CRIT, "worse", buf, sizeof(buf));
        ck_assert_str_eq(buf, "error: worse\n");
}
END_TEST

START_TEST(test_truncated_line) {
        char buf[8];

        /* The length it needed, and a terminated prefix of the line. */
        ck_assert_int_eq(log_format_line(LOG_TARGET_TERMINAL, LOG_ERR, "broken", buf, sizeof(buf)), 14);
        ck_assert_str_eq(buf, "error: ");
}
END_TEST

/* Puts `fd` on stderr, runs log_open() and returns what it chose; stderr comes back. */
static enum log_target target_with_stderr(int fd) {
        int saved = dup(STDERR_FILENO);
        enum log_target t;

        ck_assert_int_ge(saved, 0);
        ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
        log_open();
        t = log_get_target();
        ck_assert_int_ge(dup2(saved, STDERR_FILENO), 0);
        close(saved);
        log_open();
        return t;
}

START_TEST(test_open_chooses_target) {
        int pipefd[2], master, slave;
        char env[64];
        struct stat st;

        unsetenv("JOURNAL_STREAM");
        ck_assert_int_eq(pipe(pipefd), 0);
        ck_assert_int_eq(target_with_stderr(pipefd[1]), LOG_TARGET_PREFIXED);

        /* JOURNAL_STREAM naming the very stream stderr is: the journal. */
        ck_assert_int_eq(fstat(pipefd[1], &st), 0);
        snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long) st.st_dev,
                 (unsigned long long) st.st_ino);
        setenv("JOURNAL_STREAM", env, 1);
        ck_assert_int_eq(target_with_stderr(pipefd[1]), LOG_TARGET_JOURNAL);

        /* A terminal, with JOURNAL_STREAM left over from a parent: the terminal. */
        master = posix_openpt(O_RDWR | O_NOCTTY);
        if (master >= 0 && grantpt(master) == 0 && unlockpt(master) == 0) {
                slave = open(ptsname(master), O_RDWR | O_NOCTTY);
                if (slave >= 0) {
                        ck_assert_int_eq(target_with_stderr(slave), LOG_TARGET_TERMINAL);
                        close(slave);
                } else
                        fprintf(stdout, "no pseudo-terminal here: terminal detection not checked\n");
        } else
                fprintf(stdout, "no pseudo-terminal here: terminal detection not checked\n");
        if (master >= 0)
                close(master);
        unsetenv("JOURNAL_STREAM");
        close(pipefd[0]);
        close(pipefd[1]);
}
END_TEST

int main(void) {
        Suite *s = suite_create("log");
        TCase *tc = tcase_create("lines");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_prefixed_lines);
        tcase_add_test(tc, test_terminal_lines);
        tcase_add_test(tc, test_truncated_line);
        tcase_add_test(tc, test_open_chooses_target);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed == 0 ? 0 : 1;
}

/* SPDX-License-Identifier: MIT */
/* The one logging module: journal entries with fields when stderr is the journal,
 * plain lines on a terminal, "<N>"-prefixed stderr lines otherwise (a service manager
 * that is not systemd reads the priority from the prefix). Both the daemon and the
 * HAL log through it. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

/* LOG_ERR .. LOG_DEBUG; messages above it are dropped. Default LOG_INFO. */
void log_set_max_level(int level);
int log_get_max_level(void);
/* Parses "err", "warning", "notice", "info", "debug" or 0..7; -EINVAL otherwise. */
int log_level_from_string(const char *s);
enum log_target {
        LOG_TARGET_PREFIXED,      /* "<6>message" on stderr */
        LOG_TARGET_TERMINAL,      /* "message", "warning: message", "error: message" */
        LOG_TARGET_JOURNAL,       /* sd_journal_sendv() with fields */
};

/* Chooses the target from stderr: the journal when JOURNAL_STREAM names it, the
 * terminal when it is a TTY, prefixed lines otherwise. Called once at start-up (and by
 * tests). */
void log_open(void);
enum log_target log_get_target(void);
/* One stderr line for `target` (PREFIXED or TERMINAL), newline included, into buf
 * (always NUL-terminated when size > 0). Returns the length it needed, as snprintf. */
int log_format_line(enum log_target target, int level, const char *msg, char *buf, size_t size);

/* Core entry point. entity and topic may be NULL; they become IOTGWD_ENTITY= and
 * IOTGWD_TOPIC= journal fields. error is a positive or negative errno (0 for none)
 * and makes %m print it. Always returns -abs(error), so callers can
 * "return log_error_errno(r, ...)". */
int log_internal(int level, int error, const char *entity, const char *topic,
                 const char *file, int line, const char *func,
                 const char *format, ...) _printf_(8, 9);

#define log_full_errno(level, error, ...) \
        log_internal(level, error, NULL, NULL, __FILE__, __LINE__, __func__, __VA_ARGS__)
#define log_full(level, ...) log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...)   log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)    log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...)  log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...)   log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...)   log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...)    log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...)   log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")

/* With an entity name (and optionally a topic) attached as journal fields. */
#define log_entity_full(level, e, entity, topic, ...) \
        log_internal(level, e, entity, topic, __FILE__, __LINE__, __func__, __VA_ARGS__)

/* A simple rate limit for messages that could repeat every tick:
 * at most `burst` messages per `interval_usec`; log_ratelimit_test() says whether
 * this one may go out (and counts the suppressed ones, reported on the next pass). */
struct log_ratelimit {
        uint64_t interval_usec;
        unsigned burst;
        uint64_t begin;
        unsigned num;
        unsigned suppressed;
};
#define LOG_RATELIMIT_INIT(iv, b) { .interval_usec = (iv), .burst = (b) }
bool log_ratelimit_test(struct log_ratelimit *rl, uint64_t now_usec, unsigned *suppressed);

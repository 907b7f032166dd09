/* SPDX-License-Identifier: MIT */
/* What the gateway publishes, formatted on the hot path: readings, timestamps, error
 * reports and counters as JSON, written into the caller's buffer without allocating.
 * Every function returns the length written (the NUL terminator not counted) or a
 * negative errno; -ENOBUFS means the buffer was too small, and then nothing in it is
 * meant to be used (when size > 0 it holds an empty string). Output never depends on
 * the C locale. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reading.h"

/* Length of a formatted timestamp, without the NUL. */
#define TIMESTAMP_LENGTH 24

/* RFC 3339 UTC with milliseconds: "2026-11-24T21:00:00.123Z" (24 chars + NUL). */
int format_timestamp(uint64_t realtime_usec, char *buf, size_t size);
/* {"temperature":21.53,"humidity":45.1,"ts":"…"}: each quantity rounded to its
 * decimals (quantity_info from hal/reading.h), no exponent notation, "-0" printed as 0,
 * non-finite values rejected with -EDOM.
 *
 * The first n quantities of r are written, named and rounded by q[0..n-1]; n must not
 * exceed r->n (-EINVAL). Each value is printed with exactly q[i].decimals digits after
 * the point (0..9, else -EINVAL), rounded half away from zero from value * 10^decimals
 * as computed in double: 21.525 with 2 decimals gives 21.53, -21.525 gives -21.53.
 * |value| > 1e15, or a value that does not fit its decimals, gives -ERANGE. A year
 * after 9999 gives -ERANGE (format_timestamp). */
int format_reading_json(const struct reading *r, const struct quantity_info *q, size_t n,
                        uint64_t realtime_usec, char *buf, size_t size);
/* {"topic":"…","error":"…"} with proper JSON string escaping of both (the topic is
 * untrusted: control characters, quotes, backslashes, invalid UTF-8 → replaced by
 * U+FFFD or escaped; output is always valid JSON).
 *
 * topic may contain NUL bytes (escaped as \u0000); error is a C string, NULL meaning
 * empty. */
int format_error_json(const char *topic, size_t topic_len, const char *error,
                      char *buf, size_t size);
/* JSON string escaping helper used by the above.
 *
 * Writes the escaped form of the len bytes at s, without the surrounding quotes: '"'
 * and '\' backslash-escaped, control characters (and DEL) as \b \f \n \r \t or \u00XX,
 * well-formed UTF-8 copied as is, and each byte that does not start a well-formed
 * UTF-8 character replaced by U+FFFD. */
int json_escape(const char *s, size_t len, char *buf, size_t size);
/* Counters object for BASE/stats:
 * {"sent":N,"queued":N,"dropped":N,"reconnects":N,"read_errors":N,"uptime":S,"connected":true}
 *
 * The command counters are printed too, after read_errors, then the messages the broker
 * refused (MQTT 5 PUBACK reason >= 0x80), and last the GPIO edges lost before the
 * daemon could read them (the kernel's event queue overflowed):
 * {"sent":N,"queued":N,"dropped":N,"reconnects":N,"read_errors":N,"commands":N,
 *  "command_errors":N,"uptime":S,"connected":true|false,"rejected":N,"edges_lost":N} */
struct gateway_stats { uint64_t sent, queued, dropped, reconnects, read_errors, commands,
                       command_errors; uint64_t uptime_sec; bool connected; uint64_t rejected;
                       uint64_t edges_lost; };
int format_stats_json(const struct gateway_stats *s, char *buf, size_t size);

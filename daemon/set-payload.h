/* SPDX-License-Identifier: MIT */
/* Commands for GPIO outputs: what an output's /set topic may carry, parsed strictly.
 * Every payload comes from the network, so anything not exactly understood is refused
 * with a reason that can be published back on the error topic. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum command_action { COMMAND_ON, COMMAND_OFF, COMMAND_TOGGLE };
struct command {
        enum command_action action;
        uint64_t pulse_usec;            /* 0: no pulse */
};
#define COMMAND_MAX_PAYLOAD 256
/* Parses an output's /set payload: "ON", "OFF", "TOGGLE" (case-insensitive, surrounding
 * ASCII whitespace allowed), or a JSON object {"state":"ON"|"OFF"|"TOGGLE",
 * "pulse_ms":N} (pulse_ms optional, integer 1..max_pulse_usec/1000; with a pulse the
 * state must be ON or OFF, meaning "go to this state for N ms then back"). Rejects:
 * empty, longer than COMMAND_MAX_PAYLOAD, invalid UTF-8, embedded NUL, unknown words,
 * JSON that is not an object, unknown or duplicate JSON keys, wrong types, non-integer
 * or out-of-range pulse. Returns 0, or -EINVAL/-EMSGSIZE/-ERANGE with *ret_error set to
 * a static human-readable reason ("payload is not valid UTF-8", "pulse_ms 90000 exceeds
 * the maximum of 60000" — that one may be formatted into errbuf).
 *
 * The reason is always written into errbuf (truncated to fit, always NUL-terminated;
 * errbuf may be NULL when errbuf_size is 0; on success it is left empty). -EMSGSIZE: longer than
 * COMMAND_MAX_PAYLOAD; -ERANGE: pulse_ms out of 1..max; -EINVAL: everything else.
 * The JSON "state" value is case-insensitive like the plain words. *ret is written
 * only on success. */
int command_parse(const void *payload, size_t len, uint64_t max_pulse_usec,
                  struct command *ret, char *errbuf, size_t errbuf_size);
/* True if the len bytes at s are well-formed UTF-8: no overlong encodings, no
 * surrogates (U+D800..U+DFFF), nothing above U+10FFFF, no truncated sequences. NUL
 * bytes are valid UTF-8; callers that refuse them check separately. */
bool utf8_valid(const void *s, size_t len);

/* SPDX-License-Identifier: MIT */
/* UTF-8 decoding of one character at a time, shared by command parsing (which refuses
 * malformed input) and JSON escaping (which replaces it). */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the well-formed UTF-8 character at the start of the len bytes at s,
 * or 0 if they do not start with one: a stray continuation byte, an overlong encoding,
 * a surrogate, a code point above U+10FFFF, or a sequence cut short by len. len 0
 * gives 0. */
size_t utf8_char_length(const uint8_t *s, size_t len);

/* SPDX-License-Identifier: MIT */
/* UTF-8 well-formedness, by the table of well-formed byte sequences in the Unicode
 * Standard (chapter 3, table 3-7): the second byte's allowed range depends on the
 * first byte, which is what excludes overlong forms, surrogates and values above
 * U+10FFFF without decoding the code point. */
#include <stdbool.h>

#include "utf8.h"

static bool is_cont(uint8_t b) {
        return (b & 0xC0) == 0x80;
}

size_t utf8_char_length(const uint8_t *s, size_t len) {
        uint8_t lo = 0x80, hi = 0xBF;
        size_t n;

        if (len == 0)
                return 0;
        if (s[0] < 0x80)
                return 1;

        if (s[0] >= 0xC2 && s[0] <= 0xDF)
                n = 2;
        else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
                n = 3;
                if (s[0] == 0xE0)
                        lo = 0xA0;      /* below: overlong */
                else if (s[0] == 0xED)
                        hi = 0x9F;      /* above: surrogates */
        } else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
                n = 4;
                if (s[0] == 0xF0)
                        lo = 0x90;      /* below: overlong */
                else if (s[0] == 0xF4)
                        hi = 0x8F;      /* above: beyond U+10FFFF */
        } else
                return 0;               /* 0x80..0xC1 (continuation, overlong 2-byte), 0xF5.. */

        if (len < n)
                return 0;
        if (s[1] < lo || s[1] > hi)
                return 0;
        for (size_t i = 2; i < n; i++)
                if (!is_cont(s[i]))
                        return 0;
        return n;
}

/* SPDX-License-Identifier: MIT */
/* libFuzzer target for the configuration loader and the value parsers.
 *
 * The input is split at the first line "%%": what comes before becomes iotgwd.conf,
 * what follows becomes conf.d/10-fuzz.conf, so merging drop-ins is exercised too.
 * Every parse_*() function also gets the whole input as one string. Invariants
 * checked: success means no messages and a config, failure means at least one
 * message of the form "FILE:LINE: ..." and no config. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* By directory: the build tree has an autoconf config.h of its own. */
#include "daemon/config.h"
#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_INPUT 65536

static char dir[64];
static char main_path[128];
static char dropin_dir[128];
static char dropin_path[160];

static void setup(void) {
        if (dir[0])
                return;
        strcpy(dir, "/tmp/fuzz-config-XXXXXX");
        assert(mkdtemp(dir));
        snprintf(main_path, sizeof(main_path), "%s/iotgwd.conf", dir);
        snprintf(dropin_dir, sizeof(dropin_dir), "%s/conf.d", dir);
        snprintf(dropin_path, sizeof(dropin_path), "%s/10-fuzz.conf", dropin_dir);
        assert(mkdir(dropin_dir, 0755) == 0);
}

static void write_file(const char *path, const uint8_t *data, size_t size) {
        FILE *f = fopen(path, "we");

        assert(f);
        assert(fwrite(data, 1, size, f) == size);
        assert(fclose(f) == 0);
}

static void fuzz_parsers(const uint8_t *data, size_t size) {
        _cleanup_(freep) char *s = NULL;
        uint64_t u;
        double d;
        bool b;

        s = strndup((const char *) data, size);
        assert(s);

        (void) parse_duration(s, &u);
        (void) parse_boolean(s, &b);
        (void) parse_uint_range(s, 0, UINT64_MAX, &u);
        if (parse_uint_range(s, 3, 0x77, &u) == 0)
                assert(u >= 3 && u <= 0x77);
        (void) parse_double(s, &d);
        (void) parse_size(s, &u);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct config_errors errors = {};
        struct config *c = NULL;
        const uint8_t *sep;
        int r;

        if (size > MAX_INPUT)
                return 0;
        setup();

        fuzz_parsers(data, size);

        sep = memmem(data, size, "\n%%\n", 4);
        if (sep) {
                size_t head = (size_t) (sep - data) + 1;

                write_file(main_path, data, head);
                write_file(dropin_path, sep + 4, size - head - 3);
        } else {
                write_file(main_path, data, size);
                (void) unlink(dropin_path);
        }

        r = config_load(main_path, &c, &errors);
        if (r == 0) {
                assert(c);
                assert(errors.n == 0);
                assert(c->name && c->client_id && c->topic_prefix && c->host);
                assert(c->n_files >= 1);
        } else {
                assert(!c);
                assert(errors.n > 0);
                for (size_t i = 0; i < errors.n; i++)
                        assert(strncmp(errors.messages[i], dir, strlen(dir)) == 0 &&
                               strstr(errors.messages[i], ": "));
        }

        config_free(c);
        config_errors_clear(&errors);
        return 0;
}

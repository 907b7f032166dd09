/* SPDX-License-Identifier: MIT */
/* Loads iotgwd.conf and its conf.d drop-ins into a validated struct config.
 *
 * inih splits lines into sections and key/value pairs; everything around it is
 * ours. Lines reach inih through our own reader, which counts them (Debian's inih
 * is built without INI_HANDLER_LINENO), checks their shape first so that every
 * syntax problem is reported with its line, and handles section headers itself so
 * that a section without keys still exists. Each key then goes through the
 * tables of config-keys.c. Checks that need the whole picture (required keys, keys that
 * belong to one sensor driver, the TLS port default, the password file) run once
 * after the last drop-in.
 *
 * Nothing here has side effects beyond reading files: a reload builds a complete
 * new config or fails and frees everything, so the running one stays untouched. */
#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config-internal.h"

/* errors */

void config_loader_oom(struct loader *l) {
        l->failed = true;
        if (l->error == 0)
                l->error = -ENOMEM;
}

_printf_(4, 0)
static int errors_addv(struct config_errors *errors, const char *file, unsigned line,
                       const char *format, va_list ap) {
        _cleanup_(freep) char *msg = NULL, *full = NULL;
        char **m;

        if (vasprintf(&msg, format, ap) < 0)
                return -ENOMEM;
        if (asprintf(&full, "%s:%u: %s", file, line, msg) < 0)
                return -ENOMEM;

        m = reallocarray(errors->messages, errors->n + 1, sizeof(char *));
        if (!m)
                return -ENOMEM;
        errors->messages = m;
        m[errors->n++] = TAKE_PTR(full);
        return 0;
}

int config_errors_add(struct config_errors *errors, const char *file, unsigned line,
                      const char *format, ...) {
        va_list ap;
        int r;

        va_start(ap, format);
        r = errors_addv(errors, file, line, format, ap);
        va_end(ap);
        return r;
}

_printf_(4, 0)
static void loader_error_atv(struct loader *l, const char *file, unsigned line,
                             const char *format, va_list ap) {
        l->failed = true;
        if (errors_addv(l->errors, file, line, format, ap) < 0)
                config_loader_oom(l);
}

void config_loader_error_at(struct loader *l, const char *file, unsigned line, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        loader_error_atv(l, file, line, format, ap);
        va_end(ap);
}

void config_loader_error(struct loader *l, const char *format, ...) {
        va_list ap;

        va_start(ap, format);
        loader_error_atv(l, l->file, l->line, format, ap);
        va_end(ap);
}

/* A failure that is not the file's fault (I/O, permissions on conf.d): reported
 * like the others, and its errno becomes config_load()'s return value. */
static void loader_system_error(struct loader *l, const char *file, int r, const char *what) {
        config_loader_error_at(l, file, 0, "%s: %s", what, strerror(-r));
        if (l->error == 0)
                l->error = r;
}

void config_errors_clear(struct config_errors *errors) {
        if (!errors)
                return;
        for (size_t i = 0; i < errors->n; i++)
                free(errors->messages[i]);
        free(errors->messages);
        errors->messages = NULL;
        errors->n = 0;
}

/* entities */

static void config_ha_clear(struct config_ha *ha) {
        free(ha->device_class);
        free(ha->ha_name);
        free(ha->icon);
}

static void config_input_clear(struct config_input *i) {
        free(i->name);
        free(i->chip);
        free(i->line);
        config_ha_clear(&i->ha);
}

static void config_output_clear(struct config_output *o) {
        free(o->name);
        free(o->chip);
        free(o->line);
        config_ha_clear(&o->ha);
}

static void config_sensor_clear(struct config_sensor *s) {
        free(s->name);
        free(s->driver);
        free(s->path);
        free(s->unit);
        free(s->quantity);
        free(s->device);
        free(s->bus);
        config_ha_clear(&s->ha);
}

struct config *config_free(struct config *c) {
        if (!c)
                return NULL;

        free(c->name);
        free(c->topic_prefix);
        free(c->hal);
        free(c->sim_socket);
        free(c->discovery_prefix);
        free(c->host);
        free(c->client_id);
        free(c->username);
        free(c->password_file);
        if (c->password) {
                /* Don't leave the secret in freed heap memory. */
                explicit_bzero(c->password, strlen(c->password));
                free(c->password);
        }
        free(c->tls_ca_file);
        free(c->tls_cert_file);
        free(c->tls_key_file);
        free(c->response_topic_prefix);

        for (size_t i = 0; i < c->n_inputs; i++)
                config_input_clear(&c->inputs[i]);
        free(c->inputs);
        for (size_t i = 0; i < c->n_outputs; i++)
                config_output_clear(&c->outputs[i]);
        free(c->outputs);
        for (size_t i = 0; i < c->n_sensors; i++)
                config_sensor_clear(&c->sensors[i]);
        free(c->sensors);

        for (size_t i = 0; i < c->n_files; i++)
                free(c->files[i]);
        free(c->files);

        return mfree(c);
}


/* Finds an entity of any kind by name; returns its kind and index. */
static enum section_kind entity_find(const struct config *c, const char *name, size_t *ret_index,
                                     const struct config_origin **ret_origin) {
        for (size_t i = 0; i < c->n_inputs; i++)
                if (streq(c->inputs[i].name, name)) {
                        *ret_index = i;
                        *ret_origin = &c->inputs[i].origin;
                        return SECTION_INPUT;
                }
        for (size_t i = 0; i < c->n_outputs; i++)
                if (streq(c->outputs[i].name, name)) {
                        *ret_index = i;
                        *ret_origin = &c->outputs[i].origin;
                        return SECTION_OUTPUT;
                }
        for (size_t i = 0; i < c->n_sensors; i++)
                if (streq(c->sensors[i].name, name)) {
                        *ret_index = i;
                        *ret_origin = &c->sensors[i].origin;
                        return SECTION_SENSOR;
                }
        return SECTION_NONE;
}

/* Grows an entity array and its seen[] twin by one zeroed element. */
static int grow(void **array, struct entity_seen **seen, size_t n, size_t size) {
        void *a;
        struct entity_seen *s;

        a = reallocarray(*array, n + 1, size);
        if (!a)
                return -ENOMEM;
        *array = a;
        memset((uint8_t *) a + n * size, 0, size);

        s = reallocarray(*seen, n + 1, sizeof(struct entity_seen));
        if (!s)
                return -ENOMEM;
        *seen = s;
        memset(&s[n], 0, sizeof(struct entity_seen));
        return 0;
}

static int entity_add(struct loader *l, enum section_kind kind, const char *name, size_t *ret_index) {
        struct config *c = l->config;
        struct config_origin origin = { .file = l->file, .line = l->line };
        _cleanup_(freep) char *n = NULL;
        int r;

        n = strdup(name);
        if (!n)
                return -ENOMEM;

        switch (kind) {
        case SECTION_INPUT: {
                r = grow((void **) &c->inputs, &l->input_seen, c->n_inputs, sizeof(struct config_input));
                if (r < 0)
                        return r;
                struct config_input *i = &c->inputs[c->n_inputs];
                i->name = TAKE_PTR(n);
                i->bias = HAL_BIAS_AS_IS;
                i->edge = HAL_EDGE_BOTH;
                i->ha.discovery = true;
                i->origin = origin;
                *ret_index = c->n_inputs++;
                break;
        }
        case SECTION_OUTPUT: {
                r = grow((void **) &c->outputs, &l->output_seen, c->n_outputs, sizeof(struct config_output));
                if (r < 0)
                        return r;
                struct config_output *o = &c->outputs[c->n_outputs];
                o->name = TAKE_PTR(n);
                o->max_pulse_usec = 60000 * USEC_PER_MSEC;
                o->ha.discovery = true;
                o->origin = origin;
                *ret_index = c->n_outputs++;
                break;
        }
        case SECTION_SENSOR: {
                r = grow((void **) &c->sensors, &l->sensor_seen, c->n_sensors, sizeof(struct config_sensor));
                if (r < 0)
                        return r;
                struct config_sensor *s = &c->sensors[c->n_sensors];
                s->name = TAKE_PTR(n);
                s->interval_usec = SEC(60);
                s->publish = PUBLISH_ALWAYS;
                s->max_silence_usec = SEC(15 * 60);
                s->scale = 1;
                s->decimals = -1;
                s->address = -1;
                s->gain = 2.048;
                s->data_rate = 128;
                s->ha.discovery = true;
                s->origin = origin;
                *ret_index = c->n_sensors++;
                break;
        }
        default:
                return -EINVAL;
        }
        return 0;
}

/* sections and keys */

static void section_begin(struct loader *l, char *header) {
        char *kind_word, *name;
        enum section_kind kind, existing;
        const struct config_origin *origin;
        size_t index;
        int r;

        l->section = SECTION_SKIP;

        kind_word = header + strspn(header, " \t");
        name = kind_word + strcspn(kind_word, " \t");
        if (*name) {
                *name++ = '\0';
                name += strspn(name, " \t");
                for (size_t n = strlen(name); n > 0 && (name[n - 1] == ' ' || name[n - 1] == '\t'); n--)
                        name[n - 1] = '\0';
        }

        if (streq(kind_word, "gateway") || streq(kind_word, "mqtt")) {
                if (*name) {
                        config_loader_error(l, "section [%s] takes no name", kind_word);
                        return;
                }
                l->section = streq(kind_word, "gateway") ? SECTION_GATEWAY : SECTION_MQTT;
                return;
        }

        if (streq(kind_word, "input"))
                kind = SECTION_INPUT;
        else if (streq(kind_word, "output"))
                kind = SECTION_OUTPUT;
        else if (streq(kind_word, "sensor"))
                kind = SECTION_SENSOR;
        else {
                config_loader_error(l, "unknown section [%s]", kind_word);
                return;
        }

        if (!*name) {
                config_loader_error(l, "section [%s] needs a name, e.g. [%s door]", kind_word, kind_word);
                return;
        }
        if (!config_name_valid(name, ENTITY_NAME_MAX)) {
                config_loader_error(l, "invalid name '%s': use letters, digits, '_' and '-' (at most %d)",
                                    name, ENTITY_NAME_MAX);
                return;
        }
        if (config_name_reserved(name)) {
                config_loader_error(l, "name '%s' is reserved for the gateway's own topics", name);
                return;
        }

        existing = entity_find(l->config, name, &index, &origin);
        if (existing == kind) {
                /* The same entity again, in a drop-in or later in the file: amend it. */
                l->section = kind;
                l->entity = index;
                return;
        }
        if (existing != SECTION_NONE) {
                config_loader_error(l, "name '%s' is already used by [%s %s] at %s:%u", name,
                                    config_section_kind_name(existing), name, origin->file, origin->line);
                return;
        }

        r = entity_add(l, kind, name, &index);
        if (r < 0) {
                config_loader_oom(l);
                return;
        }
        l->section = kind;
        l->entity = index;
}

static void key_set(struct loader *l, const char *name, const char *value) {
        const struct key_def *keys;
        struct key_seen *seen;
        void *base;
        size_t n;
        ssize_t i;

        switch (l->section) {
        case SECTION_NONE:
                config_loader_error(l, "key '%s' outside of any section", name);
                return;
        case SECTION_SKIP:
                return;
        case SECTION_GATEWAY:
                seen = l->gateway_seen;
                base = l->config;
                break;
        case SECTION_MQTT:
                seen = l->mqtt_seen;
                base = l->config;
                break;
        case SECTION_INPUT:
                seen = l->input_seen[l->entity].key;
                base = &l->config->inputs[l->entity];
                break;
        case SECTION_OUTPUT:
                seen = l->output_seen[l->entity].key;
                base = &l->config->outputs[l->entity];
                break;
        case SECTION_SENSOR:
                seen = l->sensor_seen[l->entity].key;
                base = &l->config->sensors[l->entity];
                break;
        default:
                return;
        }

        keys = config_keys(l->section, &n);
        i = config_key_index(keys, n, name);
        if (i < 0) {
                config_loader_error(l, "unknown key '%s' in section [%s]", name,
                                    config_section_kind_name(l->section));
                return;
        }

        /* Remembered even when the value is bad: "required" means "written", and
         * a bad value has its own message already. */
        seen[i] = (struct key_seen) { .file = l->file, .line = l->line };
        (void) keys[i].parse(l, &keys[i], value, base);
}

#if INI_HANDLER_LINENO
static int ini_handler_cb(void *user, const char *section, const char *name, const char *value, int lineno) {
#else
static int ini_handler_cb(void *user, const char *section, const char *name, const char *value) {
#endif
        struct loader *l = user;

        /* inih builds that report new sections or value-less keys pass NULLs. */
        if (name && value)
                key_set(l, name, value);
        /* Always go on: all problems are collected, not just the first. */
        return 1;
}

/* reading lines */

static bool is_blank(char c) {
        return c == ' ' || c == '\t';
}

/* Like inih: the first of `chars`, or an inline ';' comment (preceded by a blank). */
static const char *find_or_comment(const char *s, const char *chars) {
        bool was_blank = false;

        for (; *s; s++) {
                if (strchr(chars, *s))
                        return s;
                if (was_blank && *s == ';')
                        return s;
                was_blank = is_blank(*s);
        }
        return s;
}

/* Checks the shape of one stripped line. Returns false (after reporting) when inih
 * must not see it. Section headers are handled here. */
static bool line_check(struct loader *l, char *s) {
        const char *end;

        if (*s == '\0' || *s == '#' || *s == ';')
                return true;

        if (*s == '[') {
                char header[SECTION_HEADER_MAX + 1];
                const char *rest;
                size_t n;

                end = find_or_comment(s + 1, "]");
                if (*end != ']') {
                        config_loader_error(l, "section header without closing ']'");
                        l->section = SECTION_SKIP;
                        return false;
                }
                rest = end + 1;
                rest += strspn(rest, " \t");
                if (*rest != '\0' && *rest != '#' && *rest != ';') {
                        config_loader_error(l, "unexpected text after section header");
                        l->section = SECTION_SKIP;
                        return false;
                }
                n = (size_t) (end - (s + 1));
                if (n > SECTION_HEADER_MAX) {
                        config_loader_error(l, "section header too long");
                        l->section = SECTION_SKIP;
                        return false;
                }
                memcpy(header, s + 1, n);
                header[n] = '\0';
                section_begin(l, header);
                return true;
        }

        end = find_or_comment(s, "=:");
        if (*end != '=' && *end != ':') {
                config_loader_error(l, "expected 'key = value'");
                return false;
        }
        if (end == s) {
                config_loader_error(l, "missing key name before '%c'", *end);
                return false;
        }
        return true;
}

/* inih's line source: counts lines, checks them, hands over clean ones. Lines
 * that fail a check become blank lines, so that inih never reports an error of its
 * own and its line count stays ours. */
static char *ini_reader_cb(char *str, int num, void *stream) {
        struct loader *l = stream;
        ssize_t n;
        char *s;
        size_t len;

        n = getline(&l->buf, &l->bufsize, l->f);
        if (n < 0) {
                if (ferror(l->f))
                        loader_system_error(l, l->file, -EIO, "read failed");
                return NULL;
        }
        l->line++;
        s = l->buf;
        len = (size_t) n;

        if (len > 0 && s[len - 1] == '\n')
                s[--len] = '\0';
        if (len > 0 && s[len - 1] == '\r')
                s[--len] = '\0';

        if (memchr(s, '\0', len)) {
                config_loader_error(l, "line contains a NUL byte");
                goto blank;
        }
        if (l->line == 1 && len >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
                s += 3;
                len -= 3;
        }
        /* inih needs room for "\n\0" and its own terminator. */
        if (num < 4 || len > (size_t) num - 3) {
                config_loader_error(l, "line too long (at most %d characters)", num - 3);
                goto blank;
        }
        for (size_t i = 0; i < len; i++)
                if (((unsigned char) s[i] < 0x20 && s[i] != '\t') || s[i] == 0x7f) {
                        config_loader_error(l, "line contains a control character");
                        goto blank;
                }

        /* Strip blanks: an indented line must not become a continuation of the
         * previous value (inih's multi-line values). */
        while (is_blank(*s))
                s++, len--;
        while (len > 0 && is_blank(s[len - 1]))
                s[--len] = '\0';

        if (!line_check(l, s))
                goto blank;

        memcpy(str, s, len);
        str[len] = '\n';
        str[len + 1] = '\0';
        return str;

blank:
        str[0] = '\n';
        str[1] = '\0';
        return str;
}

/* Opens a file that must be a regular file; O_NONBLOCK so a FIFO can't hang us. */
static int open_regular(const char *path, FILE **ret) {
        _cleanup_(closep) int fd = -EBADF;
        struct stat st;
        FILE *f;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (S_ISDIR(st.st_mode))
                return -EISDIR;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;

        f = fdopen(fd, "r");
        if (!f)
                return -errno;
        TAKE_FD(fd);
        *ret = f;
        return 0;
}

static int loader_add_file(struct loader *l, const char *path, const char **ret) {
        struct config *c = l->config;
        char **files, *p;

        p = strdup(path);
        if (!p)
                return -ENOMEM;
        files = reallocarray(c->files, c->n_files + 1, sizeof(char *));
        if (!files) {
                free(p);
                return -ENOMEM;
        }
        c->files = files;
        c->files[c->n_files++] = p;
        *ret = p;
        return 0;
}

static int load_file(struct loader *l, const char *path, bool dropin) {
        FILE *f = NULL;
        int r;

        r = open_regular(path, &f);
        if (r == -EISDIR && dropin)
                return 0;               /* a directory called x.conf: not ours */
        if (r == -EBADFD) {
                config_loader_error_at(l, path, 0, "not a regular file");
                return 0;
        }
        if (r < 0) {
                loader_system_error(l, path, r, "cannot open");
                return r;
        }

        r = loader_add_file(l, path, &l->file);
        if (r < 0) {
                fclose(f);
                config_loader_oom(l);
                return r;
        }

        l->f = f;
        l->line = 0;
        l->section = SECTION_NONE;

        r = ini_parse_stream(ini_reader_cb, l, ini_handler_cb, l);
        if (r > 0 && !l->failed)
                /* Our checks should have caught everything inih objects to. */
                config_loader_error_at(l, l->file, (unsigned) r, "syntax error");
        else if (r < 0 && r != -1)
                config_loader_oom(l);

        fclose(f);
        l->f = NULL;
        return 0;
}

static int dropin_filter(const struct dirent *de) {
        size_t n = strlen(de->d_name);

        return de->d_name[0] != '.' && n > 5 && streq(de->d_name + n - 5, ".conf");
}

/* Plain byte order, whatever the locale: the order must not depend on LANG. */
static int dropin_compare(const struct dirent **a, const struct dirent **b) {
        return strcmp((*a)->d_name, (*b)->d_name);
}

static int load_dropins(struct loader *l, const char *path) {
        _cleanup_(freep) char *dir = NULL;
        struct dirent **list = NULL;
        const char *slash;
        int n, r = 0;

        slash = strrchr(path, '/');
        if (!slash)
                dir = strdup("conf.d");
        else if (asprintf(&dir, "%.*s/conf.d", (int) (slash - path), path) < 0)
                dir = NULL;
        if (!dir) {
                config_loader_oom(l);
                return -ENOMEM;
        }

        n = scandir(dir, &list, dropin_filter, dropin_compare);
        if (n < 0) {
                r = -errno;
                if (r == -ENOENT || r == -ENOTDIR)
                        return 0;
                loader_system_error(l, dir, r, "cannot read directory");
                return r;
        }

        for (int i = 0; i < n; i++) {
                _cleanup_(freep) char *p = NULL;

                if (r >= 0) {
                        if (asprintf(&p, "%s/%s", dir, list[i]->d_name) < 0) {
                                p = NULL;
                                config_loader_oom(l);
                                r = -ENOMEM;
                        } else
                                (void) load_file(l, p, /* dropin= */ true);
                }
                free(list[i]);
        }
        free(list);
        return r;
}

/* checks after the last file */

static const struct key_seen *seen_key(const struct key_seen *seen, enum section_kind kind, const char *name) {
        const struct key_def *keys;
        size_t n;
        ssize_t i;

        keys = config_keys(kind, &n);
        i = config_key_index(keys, n, name);
        /* Only called with names from the tables. */
        assert(i >= 0);
        return &seen[i];
}

static int default_name(struct loader *l) {
        struct config *c = l->config;
        char host[256] = "";

        if (c->name)
                return 0;

        if (gethostname(host, sizeof(host) - 1) < 0)
                host[0] = '\0';
        host[sizeof(host) - 1] = '\0';
        host[GATEWAY_NAME_MAX] = '\0';
        /* A hostname may have dots (FQDN) and more: make it one topic level. */
        for (char *p = host; *p; p++)
                if (!config_is_name_char(*p))
                        *p = '-';

        return config_set_string(l, &c->name, host[0] ? host : "iotgwd");
}

static int read_password(struct loader *l, const struct key_seen *where) {
        struct config *c = l->config;
        _cleanup_(closep) int fd = -EBADF;
        char buf[PASSWORD_MAX + 2];
        size_t len = 0;
        struct stat st;
        ssize_t k;
        char *nl;

        fd = open(c->password_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0) {
                config_loader_error_at(l, where->file, where->line, "cannot open password file '%s': %s",
                                       c->password_file, strerror(errno));
                return -EINVAL;
        }
        if (!S_ISREG(st.st_mode)) {
                config_loader_error_at(l, where->file, where->line, "password file '%s' is not a regular file",
                                       c->password_file);
                return -EINVAL;
        }
        if (st.st_mode & 0007) {
                config_loader_error_at(l, where->file, where->line,
                                       "password file '%s' is accessible by others (mode %04o): "
                                       "remove their access with chmod o-rwx",
                                       c->password_file, (unsigned) (st.st_mode & 07777));
                return -EINVAL;
        }

        while (len < sizeof(buf) - 1) {
                k = read(fd, buf + len, sizeof(buf) - 1 - len);
                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        config_loader_error_at(l, where->file, where->line, "cannot read password file '%s': %s",
                                               c->password_file, strerror(errno));
                        explicit_bzero(buf, sizeof(buf));
                        return -EINVAL;
                }
                if (k == 0)
                        break;
                len += (size_t) k;
                if (memchr(buf, '\n', len))
                        break;
        }
        buf[len] = '\0';

        nl = memchr(buf, '\n', len);
        if (nl)
                len = (size_t) (nl - buf);
        if (len > 0 && buf[len - 1] == '\r')
                len--;
        buf[len] = '\0';

        if (len == 0 || len > PASSWORD_MAX || memchr(buf, '\0', len)) {
                config_loader_error_at(l, where->file, where->line, "password file '%s' %s", c->password_file,
                                       len == 0 ? "has an empty first line" :
                                       len > PASSWORD_MAX ? "holds a password longer than 65535 bytes" :
                                       "contains a NUL byte");
                explicit_bzero(buf, sizeof(buf));
                return -EINVAL;
        }

        free(c->password);
        c->password = strdup(buf);
        explicit_bzero(buf, sizeof(buf));
        if (!c->password) {
                config_loader_oom(l);
                return -ENOMEM;
        }
        return 0;
}

static struct config_origin origin_of(const struct key_seen *seen) {
        return (struct config_origin) { .file = seen->file, .line = seen->line };
}

static void check_gateway_and_mqtt(struct loader *l) {
        struct config *c = l->config;
        const struct key_seen *cert, *key, *pw;

        if (default_name(l) < 0)
                return;
        if (!c->client_id && asprintf(&c->client_id, "iotgwd-%s", c->name) < 0) {
                c->client_id = NULL;
                config_loader_oom(l);
                return;
        }

        if (c->tls_ca_file && !seen_key(l->mqtt_seen, SECTION_MQTT, "port")->file)
                c->port = 8883;

        cert = seen_key(l->mqtt_seen, SECTION_MQTT, "tls_cert_file");
        key = seen_key(l->mqtt_seen, SECTION_MQTT, "tls_key_file");
        c->tls_ca_origin = origin_of(seen_key(l->mqtt_seen, SECTION_MQTT, "tls_ca_file"));
        c->tls_cert_origin = origin_of(cert);
        c->tls_key_origin = origin_of(key);
        if (c->tls_cert_file && !c->tls_key_file)
                config_loader_error_at(l, cert->file, cert->line, "tls_cert_file needs tls_key_file as well");
        if (c->tls_key_file && !c->tls_cert_file)
                config_loader_error_at(l, key->file, key->line, "tls_key_file needs tls_cert_file as well");

        pw = seen_key(l->mqtt_seen, SECTION_MQTT, "password_file");
        if (c->password_file)
                (void) read_password(l, pw);
}

static void check_required(struct loader *l, enum section_kind kind, const char *name,
                           const struct config_origin *origin, const struct key_seen *seen) {
        const struct key_def *keys;
        size_t n;

        keys = config_keys(kind, &n);
        for (size_t i = 0; i < n; i++)
                if (keys[i].required && !seen[i].file)
                        config_loader_error_at(l, origin->file, origin->line,
                                               "[%s %s]: missing required key '%s'",
                                               config_section_kind_name(kind), name, keys[i].name);
}

static void check_sensor(struct loader *l, struct config_sensor *s, const struct key_seen *seen) {
        const struct key_def *keys;
        unsigned bit;
        size_t n;

        check_required(l, SECTION_SENSOR, s->name, &s->origin, seen);
        if (!s->driver)
                return;         /* missing or invalid: reported already */
        bit = (unsigned) config_driver_bit(s->driver);

        keys = config_keys(SECTION_SENSOR, &n);
        for (size_t i = 0; i < n; i++)
                if (seen[i].file && keys[i].drivers && !(keys[i].drivers & bit))
                        config_loader_error_at(l, seen[i].file, seen[i].line,
                                               "key '%s' is not valid for driver '%s'",
                                               keys[i].name, s->driver);

        /* Written but invalid has been reported already: only complain when absent. */
        if (bit == DRIVER_SYSFS && !seen_key(seen, SECTION_SENSOR, "path")->file)
                config_loader_error_at(l, s->origin.file, s->origin.line,
                                       "[sensor %s]: driver 'sysfs' needs key 'path'", s->name);
        if (bit == DRIVER_DS18B20 && !seen_key(seen, SECTION_SENSOR, "device")->file)
                config_loader_error_at(l, s->origin.file, s->origin.line,
                                       "[sensor %s]: driver 'ds18b20' needs key 'device'", s->name);

        /* Defaults that only make sense for some drivers. */
        if (bit == DRIVER_SYSFS && !s->quantity && config_set_string(l, &s->quantity, "value") < 0)
                return;
        if ((bit & DRIVER_I2C) && !s->bus && config_set_string(l, &s->bus, "/dev/i2c-1") < 0)
                return;
}

static void check_all(struct loader *l) {
        struct config *c = l->config;

        check_gateway_and_mqtt(l);

        for (size_t i = 0; i < c->n_inputs; i++)
                check_required(l, SECTION_INPUT, c->inputs[i].name, &c->inputs[i].origin,
                               l->input_seen[i].key);
        for (size_t i = 0; i < c->n_outputs; i++)
                check_required(l, SECTION_OUTPUT, c->outputs[i].name, &c->outputs[i].origin,
                               l->output_seen[i].key);
        for (size_t i = 0; i < c->n_sensors; i++)
                check_sensor(l, &c->sensors[i], l->sensor_seen[i].key);
}

/* entry point */

static int config_new_defaults(struct config **ret) {
        _cleanup_(config_freep) struct config *c = NULL;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;

        c->topic_prefix = strdup("iotgw");
        c->hal = strdup("gpiod");
        c->sim_socket = strdup(SIM_SOCKET_DEFAULT_PATH);
        c->discovery_prefix = strdup("homeassistant");
        c->host = strdup("localhost");
        if (!c->topic_prefix || !c->hal || !c->sim_socket || !c->discovery_prefix || !c->host)
                return -ENOMEM;

        c->queue_max_messages = 10000;
        c->queue_max_bytes = 4 * 1024 * 1024;
        c->discovery = DISCOVERY_HOMEASSISTANT;
        c->stats_interval_usec = SEC(60);
        c->port = 1883;
        c->keepalive = 60;
        c->qos = 1;
        c->protocol = MQTT_PROTOCOL_5;

        *ret = TAKE_PTR(c);
        return 0;
}

int config_load(const char *path, struct config **ret, struct config_errors *errors) {
        _cleanup_(config_freep) struct config *c = NULL;
        struct loader l = { .errors = errors };
        int r;

        if (!path || !ret || !errors)
                return -EINVAL;

        r = config_new_defaults(&c);
        if (r < 0) {
                config_loader_error_at(&l, path, 0, "out of memory");
                return r;
        }
        l.config = c;

        r = load_file(&l, path, /* dropin= */ false);
        if (r >= 0) {
                (void) load_dropins(&l, path);
                check_all(&l);
        }

        free(l.buf);
        free(l.input_seen);
        free(l.output_seen);
        free(l.sensor_seen);

        if (l.error < 0)
                return l.error;
        if (l.failed)
                return -EINVAL;

        *ret = TAKE_PTR(c);
        return 0;
}

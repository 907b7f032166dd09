/* SPDX-License-Identifier: MIT */
/* Checks of the files a configuration names, beyond its syntax: what start-up would
 * otherwise only find when the MQTT client is created or a sensor is read. Used by --check, at start-up
 * and before a reload is applied, so a reload never meets a file it cannot use. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

/* PEM files this large are not certificates; refuse before OpenSSL reads them. */
#define TLS_FILE_MAX (1024 * 1024)

static const char *origin_file(const struct config_origin *o) {
        return o->file ?: "(unknown)";
}

/* OpenSSL's newest error as text, or `fallback`; clears its queue. */
static const char *ssl_error(char *buf, size_t size, const char *fallback) {
        unsigned long e = ERR_peek_last_error();

        if (e == 0)
                snprintf(buf, size, "%s", fallback);
        else
                ERR_error_string_n(e, buf, size);
        ERR_clear_error();
        return buf;
}

/* A regular, readable file of sane size: anything else (a FIFO, a device) could make
 * the PEM reader block or read forever. */
static int check_plain_file(struct config_errors *errors, const struct config_origin *o,
                            const char *key, const char *path) {
        struct stat st;
        int fd;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &st) < 0) {
                int e = errno;

                if (fd >= 0)
                        close(fd);
                (void) config_errors_add(errors, origin_file(o), o->line, "%s '%s': %s", key, path,
                                         strerror(e));
                return -EINVAL;
        }
        close(fd);
        if (!S_ISREG(st.st_mode)) {
                (void) config_errors_add(errors, origin_file(o), o->line, "%s '%s' is not a regular file",
                                         key, path);
                return -EINVAL;
        }
        if (st.st_size > TLS_FILE_MAX) {
                (void) config_errors_add(errors, origin_file(o), o->line,
                                         "%s '%s' is too large for a PEM file (%lld bytes)", key, path,
                                         (long long) st.st_size);
                return -EINVAL;
        }
        return 0;
}

static int check_tls(const struct config *c, struct config_errors *errors) {
        SSL_CTX *ctx;
        char buf[256];
        int r = 0;

        if (!c->tls_ca_file && !c->tls_cert_file)
                return 0;

        if (c->tls_ca_file && check_plain_file(errors, &c->tls_ca_origin, "tls_ca_file", c->tls_ca_file) < 0)
                r = -EINVAL;
        if (c->tls_cert_file &&
            check_plain_file(errors, &c->tls_cert_origin, "tls_cert_file", c->tls_cert_file) < 0)
                r = -EINVAL;
        if (c->tls_key_file && check_plain_file(errors, &c->tls_key_origin, "tls_key_file", c->tls_key_file) < 0)
                r = -EINVAL;
        if (r < 0)
                return r;

        ERR_clear_error();
        ctx = SSL_CTX_new(TLS_client_method());
        if (!ctx) {
                (void) config_errors_add(errors, origin_file(&c->tls_ca_origin), c->tls_ca_origin.line,
                                         "cannot set up TLS: %s", ssl_error(buf, sizeof(buf), "out of memory"));
                return -EINVAL;
        }

        if (c->tls_ca_file && SSL_CTX_load_verify_locations(ctx, c->tls_ca_file, NULL) != 1) {
                (void) config_errors_add(errors, origin_file(&c->tls_ca_origin), c->tls_ca_origin.line,
                                         "tls_ca_file '%s' holds no usable CA certificate: %s", c->tls_ca_file,
                                         ssl_error(buf, sizeof(buf), "no certificate found"));
                r = -EINVAL;
        }
        if (c->tls_cert_file && c->tls_key_file) {
                if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert_file) != 1) {
                        (void) config_errors_add(errors, origin_file(&c->tls_cert_origin), c->tls_cert_origin.line,
                                                 "tls_cert_file '%s' holds no usable certificate: %s",
                                                 c->tls_cert_file,
                                                 ssl_error(buf, sizeof(buf), "no certificate found"));
                        r = -EINVAL;
                } else if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key_file, SSL_FILETYPE_PEM) != 1) {
                        /* Also fails when the key does not belong to the certificate. */
                        (void) config_errors_add(errors, origin_file(&c->tls_key_origin), c->tls_key_origin.line,
                                                 "tls_key_file '%s' cannot be used with tls_cert_file '%s': %s",
                                                 c->tls_key_file, c->tls_cert_file,
                                                 ssl_error(buf, sizeof(buf), "no usable key"));
                        r = -EINVAL;
                } else if (SSL_CTX_check_private_key(ctx) != 1) {
                        (void) config_errors_add(errors, origin_file(&c->tls_key_origin), c->tls_key_origin.line,
                                                 "tls_key_file '%s' does not match tls_cert_file '%s'",
                                                 c->tls_key_file, c->tls_cert_file);
                        ERR_clear_error();
                        r = -EINVAL;
                }
        }
        SSL_CTX_free(ctx);
        return r;
}

/* A file a sensor reads must not be able to hang the loop: a FIFO or a device would
 * block the read forever. */
static int check_sensor_paths(const struct config *c, struct config_errors *errors) {
        int r = 0;

        for (size_t i = 0; i < c->n_sensors; i++) {
                const struct config_sensor *s = &c->sensors[i];
                struct hal_sensor_config hc = {
                        .name = s->name, .driver = s->driver, .path = s->path, .device = s->device,
                };
                char err[PATH_MAX + 64];

                if (hal_sensor_check_path(&hc, err, sizeof(err)) < 0) {
                        (void) config_errors_add(errors, origin_file(&s->origin), s->origin.line,
                                                 "[sensor %s]: %s", s->name, err);
                        r = -EINVAL;
                }
        }
        return r;
}

int config_check_files(const struct config *c, struct config_errors *errors) {
        int r = 0;

        if (check_tls(c, errors) < 0)
                r = -EINVAL;
        if (check_sensor_paths(c, errors) < 0)
                r = -EINVAL;
        return r;
}

/* fuzz_keys.c -- libFuzzer harness for common/keys: any bytes as a CURVE
 * key file, parsed by keys_parse as a .key file and as a .pub file (and
 * read by keys_read from a memfd, which must agree); then the input, made a
 * C string, as a queue looked up in what was parsed and as an endpoint.
 *
 * Checked, when a file parses: each key is 40 Z85 characters that decode
 * to 32 bytes and encode back the same; a .key's public key is the one its
 * secret key makes, a .pub has no secret key; queues are there only in a
 * .pub with a queues = line, are 1..64-character queue names each listed,
 * and a name listed is one of them; the file written back as
 * "NAME = VALUE" lines parses to the same. When it does not: the error
 * names the file. An endpoint called loopback has a loopback scheme. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "fuzz.h"
#include "codec.h"
#include "keys.h"

#define NAME "fuzz.key"

static void check_key(const char *z85)
{
    uint8_t bin[32];
    char back[KEYS_Z85_LEN + 1];
    CHECK(strlen(z85) == KEYS_Z85_LEN);
    CHECK(zmq_z85_decode(bin, z85) != NULL);
    CHECK(zmq_z85_encode(back, bin, sizeof(bin)) != NULL);
    CHECK(!strcmp(back, z85));
}

/* Every name in a parsed queues = value is a queue name and is listed. */
static void check_queues(const keys_file *k)
{
    if (!k->has_queues) {
        CHECK(k->queues[0] == '\0');
        return;
    }
    CHECK(k->queues[0] != '\0' && strlen(k->queues) <= KEYS_QUEUES_MAX);
    char name[KEYS_QUEUES_MAX + 1];
    for (const char *p = k->queues;;) {
        size_t n = strcspn(p, ",");
        CHECK(n >= 1 && n <= CODEC_NAME_MAX);
        memcpy(name, p, n);
        name[n] = '\0';
        CHECK(codec_name_valid(name));
        CHECK(keys_queue_listed(k->queues, name));
        if (!p[n])
            break;
        p += n + 1;
    }
}

/* The same bytes through keys_read (a memfd under /proc/self/fd). */
static void check_read(const uint8_t *data, size_t size, int need_secret, int rc,
                       const keys_file *parsed)
{
    char path[64], err[512];
    keys_file k;
    int fd = fuzz_memfd(data, size, path, sizeof(path));
    if (fd < 0)
        return;
    err[0] = '\0';
    int rrc = keys_read(path, need_secret, &k, err, sizeof(err));
    close(fd);
    CHECK(rrc == rc);
    if (rrc == 0)
        CHECK(!memcmp(&k, parsed, sizeof(k)));
    else
        CHECK(!strncmp(err, path, strlen(path)));
}

static void check_file(const uint8_t *data, size_t size, int need_secret)
{
    keys_file k;
    char err[512];
    err[0] = '\0';
    int rc = keys_parse(NAME, (const char *)data, size, need_secret, &k, err, sizeof(err));
    CHECK(rc == 0 || rc == -1);
    check_read(data, size, need_secret, rc, &k);
    if (rc < 0) {
        CHECK(!strncmp(err, NAME, strlen(NAME)));
        return;
    }

    check_key(k.public_key);
    if (need_secret) {
        char derived[KEYS_Z85_LEN + 1];
        check_key(k.secret_key);
        CHECK(zmq_curve_public(derived, k.secret_key) == 0);
        CHECK(!strcmp(derived, k.public_key));
        CHECK(!k.has_queues);
    } else
        CHECK(k.secret_key[0] == '\0');
    check_queues(&k);

    /* Written back the way keygen writes it, then parsed again. */
    char text[KEYS_FILE_MAX + 1];
    int n = snprintf(text, sizeof(text), "# again\npublic = %s\n", k.public_key);
    if (need_secret)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "secret = %s\n", k.secret_key);
    if (k.has_queues)
        n += snprintf(text + n, sizeof(text) - (size_t)n, "queues = %s\n", k.queues);
    CHECK(n > 0 && (size_t)n < sizeof(text));
    keys_file again;
    CHECK(keys_parse(NAME, text, (size_t)n, need_secret, &again, err, sizeof(err)) == 0);
    CHECK(!memcmp(&again, &k, sizeof(k)));

    /* The input as a queue name: listed only if it is one of them. */
    char *s = fuzz_cstring(data, size);
    if (s) {
        if (keys_queue_listed(k.queues, s)) {
            size_t len = strlen(s);
            const char *p = strstr(k.queues, s);
            int found = 0;
            for (; p && !found; p = strstr(p + 1, s))
                found = (p == k.queues || p[-1] == ',') && (p[len] == ',' || p[len] == '\0');
            CHECK(found);
        }
        free(s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_file(data, size, 1);
    check_file(data, size, 0);

    char *s = fuzz_cstring(data, size);
    if (!s)
        return 0;
    if (keys_endpoint_is_loopback(s))
        CHECK(!strncmp(s, "tcp://", 6) || !strncmp(s, "ws://", 5) || !strncmp(s, "ipc://", 6) ||
              !strncmp(s, "inproc://", 9));
    CHECK(!keys_queue_listed("", s));
    free(s);
    return 0;
}

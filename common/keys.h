/* keys.h -- ZeroMQ CURVE key files, and whether an endpoint is loopback.
 *
 * A key file is text, one "NAME = VALUE" a line; blank lines and lines
 * starting with '#' are skipped:
 *
 *   PATH.key (secret, mode 0600)     PATH.pub
 *     public = <40 Z85 characters>     public = <40 Z85 characters>
 *     secret = <40 Z85 characters>     queues = io,cpu   (optional; the
 *                                      gateway's allow-list only)
 *
 * Anything else (an unknown name, a name twice, a key that is not 32 bytes
 * of Z85, a public key that does not belong to the secret one, a file over
 * KEYS_FILE_MAX bytes) is an error that names the file and the line. No
 * dependencies beyond libzmq: liboffload links it. */
#ifndef OFFLOAD_KEYS_H
#define OFFLOAD_KEYS_H

#include <stddef.h>

#define KEYS_Z85_LEN 40     /* a 32-byte key in Z85 */
#define KEYS_FILE_MAX 4096  /* bytes in a key file */
#define KEYS_QUEUES_MAX 512 /* bytes of a queues = line's value */

typedef struct keys_file {
    char public_key[KEYS_Z85_LEN + 1];
    char secret_key[KEYS_Z85_LEN + 1]; /* "" in a .pub file */
    char queues[KEYS_QUEUES_MAX + 1];  /* "" when there is no queues = line */
    int has_queues;                    /* a queues = line was present */
} keys_file;

/* Reads and checks a key file. need_secret: a .key file (public and secret
 * key, matching); else a .pub file (a public key and maybe queues). The
 * queues value is checked to be a comma-separated list of queue names.
 * Returns 0, or -1 with err naming path and what is wrong. */
int keys_read(const char *path, int need_secret, keys_file *out, char *err, size_t errlen);

/* Parses a key file's text (len bytes, as keys_read; name is used in
 * messages only). */
int keys_parse(const char *name, const char *text, size_t len, int need_secret, keys_file *out,
               char *err, size_t errlen);

/* Makes a new key pair and writes PATH.key (mode 0600) and PATH.pub.
 * Without force, an existing file is an error (O_EXCL). Returns 0, or -1
 * with err set (and nothing left behind that this call created). */
int keys_generate(const char *path, int force, char *err, size_t errlen);

/* True when queue is in a queues = value ("io,cpu"). */
int keys_queue_listed(const char *queues, const char *queue);

/* 1 when a ZeroMQ endpoint can only be reached from this host: tcp:// or
 * ws:// on 127.x.y.z, ::1 or localhost (with or without brackets), and
 * ipc:// and inproc://. 0 otherwise (a wildcard '*', 0.0.0.0, a host name,
 * an interface name, anything unparsed). */
int keys_endpoint_is_loopback(const char *endpoint);

#endif

/* zap.h -- the gateway's CURVE allow-list and its ZAP handler (ZeroMQ's
 * authentication protocol, RFC 27).
 *
 * Every PATH.pub file in the --curve-allow directory admits its public
 * key; the file's base name (PATH) is the peer's User-Id, which ZeroMQ
 * attaches to every message from that peer (wire_rid.user). A "queues ="
 * line limits an executor with that key to the queues it names.
 *
 * The handler is a REP socket bound to inproc://zeromq.zap.01 in the
 * gateway's context, polled by the gateway's loop like its other sockets:
 * ZeroMQ's I/O thread asks it about each new connection's key and waits
 * for the answer without blocking anyone. Loop thread only. */
#ifndef OFFLOAD_ZAP_H
#define OFFLOAD_ZAP_H

#include <stddef.h>
#include <uthash.h>

#include "keys.h"
#include "stats.h"

#define ZAP_KEYS_MAX 10000 /* .pub files loaded at most */
#define ZAP_NAME_MAX 64    /* a .pub file's base name: the User-Id */

typedef struct zap_key {
    char public_key[KEYS_Z85_LEN + 1];
    char name[ZAP_NAME_MAX + 1];
    char queues[KEYS_QUEUES_MAX + 1]; /* restricted: the queues it may serve */
    int restricted;                   /* a queues = line was given */
    UT_hash_handle hh;                /* by public_key */
    UT_hash_handle hh_name;           /* by name */
} zap_key;

typedef struct zap {
    void *sock; /* REP on inproc://zeromq.zap.01 */
    char *dir;
    zap_key *by_key, *by_name; /* uthash heads over the same entries */
    size_t count;
    gateway_stats *stats;
} zap;

/* Loads dir's *.pub files and binds the handler on zctx. Returns 0, or -1
 * with err naming the file and the fault (z then holds nothing). */
int zap_start(zap *z, void *zctx, const char *dir, gateway_stats *stats, char *err, size_t errlen);

/* Reads the directory again. On any fault the previous allow-list stays
 * whole (logged: event=curve_allow_reload_failed). Returns 0 or -1. */
int zap_reload(zap *z);

/* Answers the ZAP requests waiting (a loop source callback; arg is z). */
void zap_on_readable(void *arg);

/* The entry whose file is named name (a User-Id), or NULL. */
const zap_key *zap_find_name(const zap *z, const char *name);

/* True when the key may serve queue (no queues = line: every queue). */
int zap_key_allows(const zap_key *k, const char *queue);

/* Unbinds and frees everything. Safe on a zeroed or closed z. */
void zap_close(zap *z);

#endif

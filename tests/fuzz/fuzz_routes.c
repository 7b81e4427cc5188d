/* fuzz_routes.c -- libFuzzer harness for gateway/routes: --route specs
 * into a table, then one request looked up in it.
 *
 * Input: lines split at '\n', each made a C string of its own (so it ends
 * at its first NUL): the request's method, its path, then up to 32 route
 * specs.
 *
 *   GET
 *   /test/sync
 *   GET /test/sync=job:io/sleep:3000
 *   POST /test/sync=delay:10
 *
 * Checked: a spec accepted gives an upper-case method, a path that starts
 * with '/' and is not reserved, valid names or a delay within the limit;
 * route_table_add accepts what route_parse does unless the method and path
 * are routed already; the lookup's answer, its 405 flag and the Allow list
 * agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "codec.h"
#include "routes.h"

#define FUZZ_SPECS_MAX 32
#define FUZZ_ALLOW_BUF 64 /* the gateway's Allow header buffer */

/* The input's lines, in turn. */
typedef struct fuzz_lines {
    const uint8_t *p;
    size_t left;
    int done; /* the last line was returned */
} fuzz_lines;

/* The next line as a malloc'd C string of exactly its size, or NULL when
 * none is left. */
static char *fuzz_line(fuzz_lines *l)
{
    if (l->done)
        return NULL;
    const uint8_t *nl = memchr(l->p, '\n', l->left);
    size_t n = nl ? (size_t)(nl - l->p) : l->left;
    char *s = malloc(n + 1);
    if (!s)
        return NULL;
    memcpy(s, l->p, n);
    s[n] = '\0';
    if (nl) {
        l->p += n + 1;
        l->left -= n + 1;
    } else {
        l->done = 1;
    }
    return s;
}

static void fuzz_route_check(const route *r, const char *spec)
{
    size_t mlen = strlen(r->method);
    CHECK(mlen >= 1 && mlen <= ROUTE_METHOD_MAX);
    for (size_t i = 0; i < mlen; i++)
        CHECK(r->method[i] >= 'A' && r->method[i] <= 'Z');
    CHECK(r->path && r->path[0] == '/' && strlen(r->path) <= ROUTE_PATH_MAX);
    CHECK(!route_path_reserved(r->path));
    CHECK(strstr(spec, r->path) != NULL);
    if (r->kind == ROUTE_DELAY) {
        CHECK(r->delay_ms <= ROUTE_DELAY_MAX_MS && r->payload == NULL);
    } else {
        CHECK(r->kind == ROUTE_JOB);
        CHECK(codec_name_valid(r->queue) && codec_name_valid(r->function));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_lines lines = {data, size, 0};
    char *method = fuzz_line(&lines);
    char *path = fuzz_line(&lines);
    if (!method || !path) {
        free(method);
        free(path);
        return 0;
    }

    route_table t = {0};
    char err[256];
    for (int i = 0; i < FUZZ_SPECS_MAX; i++) {
        char *spec = fuzz_line(&lines);
        if (!spec)
            break;
        route r;
        err[0] = '\0';
        int parsed = route_parse(spec, &r, err, sizeof(err));
        if (parsed == 0) {
            fuzz_route_check(&r, spec);
            int path_known = -1;
            int dup = route_table_find(&t, r.method, r.path, &path_known) != NULL;
            err[0] = '\0';
            int added = route_table_add(&t, spec, err, sizeof(err));
            CHECK(added == (dup ? -1 : 0));
            CHECK(added == 0 || err[0] != '\0');
            route_free(&r);
            CHECK(r.path == NULL && r.payload == NULL);
        } else {
            CHECK(parsed == -1 && err[0] != '\0');
            CHECK(r.path == NULL && r.payload == NULL);
            CHECK(route_table_add(&t, spec, err, sizeof(err)) == -1);
        }
        free(spec);
    }

    int path_known = -1;
    const route *found = route_table_find(&t, method, path, &path_known);
    CHECK(path_known == 0 || path_known == 1);
    if (found)
        CHECK(!strcmp(found->method, method) && !strcmp(found->path, path));
    char allow[FUZZ_ALLOW_BUF], tiny[2];
    int n = route_table_methods(&t, path, allow, sizeof(allow));
    CHECK(strlen(allow) < sizeof(allow));
    CHECK((n > 0) == (found != NULL || path_known));
    CHECK((route_table_methods(&t, path, tiny, sizeof(tiny)) > 0) == (n > 0));
    if (route_path_reserved(path))
        CHECK(n == 0);

    route_table_free(&t);
    CHECK(t.routes == NULL && t.count == 0);
    free(method);
    free(path);
    return 0;
}

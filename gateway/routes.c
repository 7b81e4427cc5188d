/* routes.c -- see routes.h. */
#include "routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"

#define ROUTE_FORM "expected 'METHOD /path=delay:MS' or 'METHOD /path=job:QUEUE/FUNCTION[:PAYLOAD]'"

int route_path_reserved(const char *path)
{
    return !strcmp(path, "/healthz") || !strcmp(path, "/readyz") || !strcmp(path, "/metrics") ||
           !strcmp(path, "/v1") || !strncmp(path, "/v1/", 4) || !strcmp(path, "/ui") ||
           !strncmp(path, "/ui/", 4);
}

void route_free(route *r)
{
    free(r->path);
    free(r->payload);
    r->path = r->payload = NULL;
}

static int route_fail(route *out, char *err, size_t errlen, const char *spec, const char *why)
{
    snprintf(err, errlen, "route '%.200s': %s; %s", spec, why, ROUTE_FORM);
    route_free(out);
    return -1;
}

static int route_parse_job(const char *target, route *out)
{
    const char *slash = strchr(target, '/');
    if (!slash)
        return -1;
    const char *fn = slash + 1, *colon = strchr(fn, ':');
    size_t qlen = (size_t)(slash - target);
    size_t flen = colon ? (size_t)(colon - fn) : strlen(fn);
    if (qlen > CODEC_NAME_MAX || flen > CODEC_NAME_MAX)
        return -1;
    memcpy(out->queue, target, qlen);
    out->queue[qlen] = '\0';
    memcpy(out->function, fn, flen);
    out->function[flen] = '\0';
    if (!codec_name_valid(out->queue) || !codec_name_valid(out->function))
        return -1;
    if (colon && !(out->payload = strdup(colon + 1)))
        return -ENOMEM;
    return 0;
}

int route_parse(const char *spec, route *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof(*out));
    const char *sp = strchr(spec, ' ');
    size_t mlen = sp ? (size_t)(sp - spec) : 0;
    if (!sp || mlen == 0 || mlen > ROUTE_METHOD_MAX)
        return route_fail(out, err, errlen, spec, "no HTTP method");
    for (size_t i = 0; i < mlen; i++) {
        if (spec[i] < 'A' || spec[i] > 'Z')
            return route_fail(out, err, errlen, spec, "the method must be upper case (GET)");
        out->method[i] = spec[i];
    }
    const char *path = sp + 1, *eq = strchr(path, '=');
    if (!eq)
        return route_fail(out, err, errlen, spec, "no '=' after the path");
    size_t plen = (size_t)(eq - path);
    if (plen == 0 || path[0] != '/' || plen > ROUTE_PATH_MAX)
        return route_fail(out, err, errlen, spec, "the path must start with '/'");
    for (size_t i = 0; i < plen; i++)
        if ((unsigned char)path[i] <= ' ' || path[i] == '?' || path[i] == '#' ||
            (unsigned char)path[i] >= 0x7f)
            return route_fail(out, err, errlen, spec,
                              "the path may not hold spaces, '?', '#' or control bytes");
    out->path = strndup(path, plen);
    if (!out->path)
        return route_fail(out, err, errlen, spec, "out of memory");
    if (route_path_reserved(out->path))
        return route_fail(out, err, errlen, spec,
                          "/healthz, /readyz, /metrics, /ui and paths under /v1/ and /ui/ "
                          "are built in and reserved");

    const char *target = eq + 1;
    if (!strncmp(target, "delay:", 6)) {
        long long ms;
        if (parse_ll(target + 6, &ms) < 0 || ms < 0 || ms > ROUTE_DELAY_MAX_MS)
            return route_fail(out, err, errlen, spec,
                              "delay needs milliseconds 0..86400000 (one day)");
        out->kind = ROUTE_DELAY;
        out->delay_ms = (uint32_t)ms;
        return 0;
    }
    if (!strncmp(target, "job:", 4)) {
        out->kind = ROUTE_JOB;
        int rc = route_parse_job(target + 4, out);
        if (rc == -ENOMEM)
            return route_fail(out, err, errlen, spec, "out of memory");
        if (rc < 0)
            return route_fail(out, err, errlen, spec,
                              "job needs QUEUE/FUNCTION, names of A-Z a-z 0-9 _ . - "
                              "(at most 64 each)");
        return 0;
    }
    return route_fail(out, err, errlen, spec, "the target must start with delay: or job:");
}

int route_table_add(route_table *t, const char *spec, char *err, size_t errlen)
{
    route r;
    if (route_parse(spec, &r, err, errlen) < 0)
        return -1;
    for (size_t i = 0; i < t->count; i++)
        if (!strcmp(t->routes[i].method, r.method) && !strcmp(t->routes[i].path, r.path)) {
            snprintf(err, errlen, "route '%.200s': %s %s is already routed", spec, r.method,
                     r.path);
            route_free(&r);
            return -1;
        }
    route *routes = realloc(t->routes, (t->count + 1) * sizeof(*routes));
    if (!routes) {
        route_free(&r);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    t->routes = routes;
    t->routes[t->count++] = r;
    return 0;
}

const route *route_table_find(const route_table *t, const char *method, const char *path,
                              int *path_known)
{
    *path_known = 0;
    for (size_t i = 0; i < t->count; i++) {
        if (strcmp(t->routes[i].path, path) != 0)
            continue;
        if (!strcmp(t->routes[i].method, method))
            return &t->routes[i];
        *path_known = 1;
    }
    return NULL;
}

int route_table_methods(const route_table *t, const char *path, char *buf, size_t buflen)
{
    int n = 0;
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < t->count && len < buflen; i++)
        if (!strcmp(t->routes[i].path, path))
            len += (size_t)snprintf(buf + len, buflen - len, "%s%s", n++ ? ", " : "",
                                    t->routes[i].method);
    return n;
}

void route_table_free(route_table *t)
{
    for (size_t i = 0; i < t->count; i++)
        route_free(&t->routes[i]);
    free(t->routes);
    t->routes = NULL;
    t->count = 0;
}

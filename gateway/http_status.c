/* http_status.c -- the JSON documents of the HTTP front's read-only
 * routes, built from the core's API: GET /v1/stats (core_status_get and
 * the front's own gauge, the event streams open), GET /v1/failures
 * (core_failures_json), and the dashboard's snapshot, all of those and
 * GET /v1/queues's document in one object. Owns nothing. Loop thread
 * only. */
#include "http_status.h"

#include <stdlib.h>
#include <time.h>

json_t *http_status_stats(http_front *h)
{
    core_status st;
    core_status_get(h->core, &st);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "id", json_string(st.id));
    json_object_set_new(o, "uptime_ms", json_integer((json_int_t)st.uptime_ms));
    json_object_set_new(o, "executors", json_integer((json_int_t)st.executors));
    json_object_set_new(o, "jobs_in_flight", json_integer((json_int_t)st.jobs_in_flight));
    json_object_set_new(o, "held_bytes", json_integer((json_int_t)st.held_bytes));
    json_object_set_new(o, "held_bytes_peak", json_integer((json_int_t)st.held_bytes_peak));
    json_object_set_new(o, "max_held_bytes", json_integer((json_int_t)st.max_held_bytes));
    json_object_set_new(o, "loop_turn_max_us", json_integer((json_int_t)st.loop_turn_max_us));
    json_object_set_new(o, "loop_turn_max_cpu_us",
                        json_integer((json_int_t)st.loop_turn_max_cpu_us));
    json_object_set_new(o, "loop_stall_max_ms", json_integer((json_int_t)st.loop_stall_max_ms));
    json_object_set_new(o, "loop_read_max_bytes", json_integer((json_int_t)st.loop_read_max_bytes));
    json_object_set_new(o, "event_streams", json_integer((json_int_t)h->nstreams));
    for (int c = 0; c < STAT_COUNT; c++)
        json_object_set_new(o, stats_name((gateway_counter)c),
                            json_integer((json_int_t)st.counters.v[c]));
    return o;
}

json_t *http_status_failures(http_front *h)
{
    core_status st;
    core_status_get(h->core, &st);
    json_t *list = core_failures_json(h->core), *o = json_object();
    if (!list || !o) {
        json_decref(list);
        json_decref(o);
        return NULL;
    }
    json_object_set_new(o, "total", json_integer((json_int_t)st.counters.v[STAT_jobs_failed]));
    json_object_set_new(o, "failures", list);
    return o;
}

char *http_status_snapshot(http_front *h)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(
        o, "t", json_integer((json_int_t)ts.tv_sec * 1000 + (json_int_t)(ts.tv_nsec / 1000000)));
    /* GET /v1/queues's members as they are, whatever they grow to. */
    json_t *doc = core_queues_doc(h->core);
    if (json_is_object(doc))
        json_object_update(o, doc);
    json_decref(doc);
    if (!json_is_array(json_object_get(o, "queues")))
        json_object_set_new(o, "queues", json_array());
    if (!json_is_array(json_object_get(o, "executors")))
        json_object_set_new(o, "executors", core_executors_json(h->core));
    json_object_set_new(o, "stats", http_status_stats(h));
    json_object_set_new(o, "failures", core_failures_json(h->core));
    char *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return out;
}

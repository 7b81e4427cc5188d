/* stats.c -- see stats.h. */
#include "stats.h"

#define STATS_NAME(name, help) #name,
#define STATS_HELP(name, help) help,
static const char *const stats_names[] = {GATEWAY_COUNTERS(STATS_NAME)};
static const char *const stats_helps[] = {GATEWAY_COUNTERS(STATS_HELP)};

const char *stats_name(gateway_counter c)
{
    return (unsigned)c < STAT_COUNT ? stats_names[c] : "unknown";
}

const char *stats_help(gateway_counter c)
{
    return (unsigned)c < STAT_COUNT ? stats_helps[c] : "";
}

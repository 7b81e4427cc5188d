/* parse.h -- numbers from text: flags, query values, config files. No
 * dependencies, so the CLI links it alone. */
#ifndef OFFLOAD_PARSE_H
#define OFFLOAD_PARSE_H

/* Parses a decimal integer that must fill the string. Returns 0 or -1. */
int parse_ll(const char *s, long long *out);

/* Parses a byte count with an optional K, M or G (binary) suffix ("1M",
 * "512KiB", "1048576"). Returns 0 or -1. */
int parse_size(const char *s, long long *out);

#endif

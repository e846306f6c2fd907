/* lab_json: a small JSON reader (a tree of values) for what the lab's
 * processes print: frontend-dpdk's stats/summary lines and the nodes'
 * counters. Also the escaping the lab's own JSON writers use.
 *
 * Parsing is bounded (depth 32, the input length) and never reads past the
 * text; malformed input gives NULL, never a crash.
 */
#ifndef LAB_JSON_H
#define LAB_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum lab_json_type { LJ_NULL = 0, LJ_BOOL, LJ_NUM, LJ_STR, LJ_ARR, LJ_OBJ };

struct lab_json {
    enum lab_json_type type;
    bool b;
    double num;
    char *str;              /* LJ_STR (unescaped) */
    char **keys;            /* LJ_OBJ: keys[i] names kids[i] */
    struct lab_json **kids; /* LJ_ARR / LJ_OBJ */
    size_t n;
};

/* Parses text[0..len). NULL on malformed input or no memory. */
struct lab_json *lab_json_parse(const char *text, size_t len);
void lab_json_free(struct lab_json *j);

/* Member of an object by key, element of an array; NULL when absent. */
const struct lab_json *lab_json_get(const struct lab_json *j, const char *key);
const struct lab_json *lab_json_at(const struct lab_json *j, size_t i);

/* A path of keys separated by '.', e.g. "in.packets". */
const struct lab_json *lab_json_path(const struct lab_json *j, const char *path);

/* Number at path (def when absent or not a number). */
double lab_json_num(const struct lab_json *j, const char *path, double def);
uint64_t lab_json_u64(const struct lab_json *j, const char *path);
/* String at path, or def. */
const char *lab_json_str(const struct lab_json *j, const char *path, const char *def);

/* Writes s as a JSON string literal (quotes included). */
void lab_json_write_str(FILE *f, const char *s);

#endif

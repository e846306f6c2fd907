/* sl_ini: a small INI reader for topology files (zeekctl node.cfg style).
 *
 * Syntax, line by line:
 *   [name]          starts a section; names are unique in a file
 *   key = value     a setting of the current section; keys are unique per
 *                   section, made of letters, digits, '_', '-', '.'
 *   # or ;          a comment line; blank lines are ignored
 * Leading/trailing blanks around names, keys and values are dropped; a value
 * may be empty and may contain '=' and blanks (it runs to the end of line).
 * There are no continuation lines, no quoting and no inline comments, so a
 * value means exactly what is written. Lines are at most 4095 bytes.
 *
 * The reader knows no key: what a section means is up to its user (frontend
 * topology, the lab). Every entry keeps its line number so users can report
 * "file:line: ..." for bad values. A syntax error fails the whole load with
 * one such message.
 */
#ifndef SL_INI_H
#define SL_INI_H

#include <stddef.h>

struct sl_ini_kv {
    char *key;
    char *val;
    unsigned line;
};

struct sl_ini_sec {
    char *name;
    unsigned line;
    unsigned n_kv;
    struct sl_ini_kv *kv;
};

struct sl_ini {
    char *path; /* as given, for messages */
    unsigned n_sec;
    struct sl_ini_sec *sec; /* in file order */
};

/* Reads and parses a file. On failure returns NULL with errno set and, when
 * err is not NULL, one line "path:line: what" (or "path: why") in err. */
struct sl_ini *sl_ini_load(const char *path, char *err, size_t errlen);

/* Parses text[0..len) as if read from a file called `name`. Same errors. */
struct sl_ini *sl_ini_parse(const char *text, size_t len, const char *name, char *err,
                            size_t errlen);

void sl_ini_free(struct sl_ini *ini);

/* The section called `name`, or NULL. */
const struct sl_ini_sec *sl_ini_section(const struct sl_ini *ini, const char *name);

/* The entry `key` of section s, or NULL (s may be NULL). */
const struct sl_ini_kv *sl_ini_find(const struct sl_ini_sec *s, const char *key);

/* The value of `key` in s, or NULL. */
const char *sl_ini_get(const struct sl_ini_sec *s, const char *key);

#endif

/* sl_log: Zeek log streams, written as Zeek's ASCII writer does (TSV with
 * the #separator ... #close header, or JSON lines).
 *
 * A stream has a schema (path + typed fields in Zeek's order). A record is
 * an array of struct sl_log_val, one per field, each already rendered to its
 * canonical text (the form Zeek's TSV shows before escaping: "1.000000" for a
 * time, "80" for a port, "T"/"F" for a bool, "tcp" for an enum). Keeping
 * records as text makes them cheap to ship between cluster nodes (sl_wire)
 * and lets the logger write a record it did not build. The writer does the
 * escaping, the header, and the JSON typing (numbers bare, strings quoted,
 * sets/vectors as arrays, unset fields omitted).
 */
#ifndef SL_LOG_H
#define SL_LOG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum sl_log_type {
    SL_LT_TIME = 0, /* seconds since epoch, "%.6f" */
    SL_LT_INTERVAL, /* seconds, "%.6f" */
    SL_LT_COUNT,    /* unsigned integer */
    SL_LT_INT,      /* signed integer */
    SL_LT_DOUBLE,   /* "%.6f" */
    SL_LT_BOOL,     /* "T" / "F" */
    SL_LT_STRING,   /* free text: escaped on output */
    SL_LT_ADDR,     /* IPv4 dotted quad or IPv6 text */
    SL_LT_SUBNET,
    SL_LT_PORT,       /* port number */
    SL_LT_ENUM,       /* identifier */
    SL_LT_SET_STRING, /* containers: items[] */
    SL_LT_SET_ENUM,
    SL_LT_SET_ADDR,
    SL_LT_VEC_STRING,
    SL_LT_VEC_INTERVAL,
    SL_LT_MAX
};

struct sl_log_field {
    const char *name;
    enum sl_log_type type;
};

struct sl_log_schema {
    const char *path; /* "conn", "dns", ... */
    unsigned n_fields;
    const struct sl_log_field *fields;
};

/* One field of a record. Scalars use `s`; containers use items/n_items.
 * present == false means unset ("-" in TSV, omitted in JSON); a present
 * container with n_items == 0 is empty ("(empty)" in TSV, [] in JSON). */
struct sl_log_val {
    bool present;
    const char *s;
    const char *const *items;
    uint32_t n_items;
};

enum sl_log_format { SL_LOG_TSV = 0, SL_LOG_JSON };

struct sl_log_writer;

/* Opens DIR/<path>.log for writing (truncating). `open_time` is the wall
 * clock time written in #open/#close (seconds since epoch; Zeek uses local
 * time, %Y-%m-%d-%H-%M-%S). Returns NULL with errno set. */
struct sl_log_writer *sl_log_open(const char *dir, const struct sl_log_schema *schema,
                                  enum sl_log_format fmt, double open_time);

/* Writes one record of schema->n_fields values. Returns 0 or -errno. */
int sl_log_write(struct sl_log_writer *w, const struct sl_log_val *vals);

/* Writes #close (TSV) with close_time, flushes and closes. Returns 0 or -errno. */
int sl_log_close(struct sl_log_writer *w, double close_time);

/* Records written so far. */
uint64_t sl_log_count(const struct sl_log_writer *w);

/* Renders into buf: helpers for building records. Return buf. */
char *sl_log_fmt_time(double t, char *buf, size_t n); /* "%.6f" */
char *sl_log_fmt_u64(uint64_t v, char *buf, size_t n);

/* Formats a record as one line (no newline) the way the writer would, for
 * tests and for comparing logs. Returns the length, or -ENOSPC. */
int sl_log_format_line(const struct sl_log_schema *schema, enum sl_log_format fmt,
                       const struct sl_log_val *vals, char *buf, size_t n);

#endif

/* ctl: the control socket (--ctl PATH), a unix stream socket speaking one
 * command per line, one reply line each:
 *
 *   down K     mark worker K (1..N) down      -> "ok worker K down"
 *   up K       mark worker K up               -> "ok worker K up"
 *   stats      the counters                   -> one JSON line (as --stats-interval)
 *   workers    the worker table               -> one JSON line
 *   start      begin forwarding (--wait-start) -> "ok starting"
 *   stop       drain and exit as on SIGTERM   -> "ok stopping"
 * Anything else gets "error: ..." and the connection stays open. The lab's
 * heartbeat monitor drives down/up; tests use it with `socat` or python3.
 *
 * The main lcore polls the socket between stats lines; nothing here runs on
 * a forwarding lcore.
 */
#ifndef FE_CTL_H
#define FE_CTL_H

#include <stddef.h>
#include <stdio.h>

#include "fe.h"

/* Binds and listens at path (an old socket file there is replaced).
 * NULL with one line in err. */
struct fe_ctl *fe_ctl_open(const char *path, char *err, size_t errlen);

/* Waits up to timeout_ms for control traffic and handles it. */
void fe_ctl_poll(struct fe_ctl *c, struct fe_app *app, int timeout_ms);

/* Closes every connection and removes the socket file. */
void fe_ctl_close(struct fe_ctl *c);

/* Handles one command line (no newline); writes the reply line to f. */
void fe_ctl_command(struct fe_app *app, const char *line, FILE *f);

#endif

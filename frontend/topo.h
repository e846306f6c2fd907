/* topo: the frontend's reading of a topology file (see core/sl_ini.h for the
 * syntax; the lab reads the same file for its own sections and keys).
 *
 *   [frontend]                 optional; keys (all optional):
 *   hash = sym5                  as --hash
 *   output = switch              as --output
 *   link_rate = 1G               as --link-rate; several: "1G, 3=10M"
 *   queue_bytes = 262144         as --queue-bytes
 *   workers = 8                  as --workers
 *   in_ports = 0                 as --in-ports
 *   out_ports = 1,2              as --out-ports
 *   pace = 1x                    as --pace
 *   stats_interval = 1           as --stats-interval
 *   (type, host, interface, lcores, pin_cpus, mode, switch belong to the lab and
 *   are ignored here; any other key is reported as a warning on stderr)
 *
 *   [worker-1]                 every section with `type = worker`, in file
 *   type = worker              order, is one worker (or lb_procs workers):
 *   mac = 02:00:00:00:00:01      its MAC (default 02:00:00:00:00:<k>);
 *   port = 1                     output port in --output switch (default:
 *                                workers dealt round-robin over the outputs)
 *   weight = 1                   rendezvous weight (> 0, at most 1e6)
 *   link_rate = 1G               rate of its link: its own with --write-pcaps,
 *                                else its output port's (workers sharing a
 *                                port must agree)
 *   lb_procs = 4                 this section stands for 4 workers with
 *                                consecutive MACs starting at `mac`
 *   (other keys of worker sections belong to the lab and are ignored)
 *
 * Command-line options override the file.
 */
#ifndef FE_TOPO_H
#define FE_TOPO_H

#include <stddef.h>

#include "args.h"

/* Applies the topology at `path` to c. 0, or -EINVAL/-errno with one line
 * "file:line: what" in err. */
int fe_topo_apply(struct fe_conf *c, const char *path, char *err, size_t errlen);

#endif

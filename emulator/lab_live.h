/* lab_live: `sluicectl up` and `down`: the live plan carried out under the
 * run's journal, and undone from it.
 *
 * up refuses to start when the journal still lists things (an earlier run
 * that was not taken down) or when any namespace of the plan already exists
 * (someone else's): nothing is touched then. A failure half way undoes what
 * this up made. down works from the journal alone (the topology file is not
 * needed, and may have changed): processes first (each only if its pid still
 * has its recorded start time), then qdiscs, links and namespaces in
 * reverse order of creation, each only if it carries the run's tag. What is
 * not the lab's is reported and left alone.
 */
#ifndef LAB_LIVE_H
#define LAB_LIVE_H

#include <stdio.h>

#include "lab_plan.h"
#include "lab_state.h"
#include "lab_topo.h"

/* Returns 0, or -errno after undoing its own work (reasons printed to err). */
int lab_live_up(const struct lab_plan *p, struct lab_run *run, FILE *err);

/* Returns the number of journal entries that could not be undone (0 = all
 * clean), or -errno when the journal cannot be read. `out` gets one line per
 * thing removed or left. */
int lab_live_down(struct lab_run *run, FILE *out);

#endif

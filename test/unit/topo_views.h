/* What test_topo_agree and fuzz_topo_agree compare of frontend-dpdk's
 * reading of a topology file. */
#ifndef SL_TEST_TOPO_VIEWS_H
#define SL_TEST_TOPO_VIEWS_H

#include <stdint.h>

#include "args.h"

/* The rate frontend-dpdk gives worker k's link from the topology alone
 * (switch.c's order): its own link_rate, else the last [frontend] link_rate
 * for all links or for its port; 0: none. */
static inline uint64_t fe_topo_rate(const struct fe_conf *c, unsigned k)
{
    if (c->worker_rate[k])
        return c->worker_rate[k];
    uint64_t r = 0;
    for (unsigned i = 0; i < c->n_topo_rates; i++)
        if (c->rate[i].id < 0 || (c->worker_port[k] >= 0 && c->rate[i].id == c->worker_port[k]))
            r = c->rate[i].bps;
    return r;
}

#endif

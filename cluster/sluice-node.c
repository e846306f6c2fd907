/* sluice-node: one binary for every cluster role; the first argument picks
 * the role. */
#include <stdio.h>
#include <string.h>

#include "sl_node.h"

struct role {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
};

/* Roles, in the order --help lists them. Add a line for a new role. */
static const struct role roles[] = {
    {"standalone", sl_node_standalone, "analyse a pcap or an interface in one process"},
    {"logger", sl_node_logger, "cluster logger: write the log batches nodes send"},
    {"manager", sl_node_manager, "cluster manager: liveness, notices, scan aggregation"},
    {"proxy", sl_node_proxy, "cluster proxy: one member of the known-set ring"},
    {"worker", sl_node_worker, "cluster worker: analyse a capture, ship the results"},
    {"local-cluster", sl_node_local_cluster, "run a whole cluster on loopback over a pcap"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sluice-node ROLE [OPTIONS]   (sluice-node ROLE --help for a role's options)\n"
            "roles:\n");
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        fprintf(f, "  %-12s %s\n", roles[i].name, roles[i].help);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
        if (strcmp(argv[1], roles[i].name) == 0)
            return roles[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sluice-node: unknown role '%s' (try --help)\n", argv[1]);
    return 2;
}

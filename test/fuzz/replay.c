/* replay_TARGET PATH...: runs a fuzz target's LLVMFuzzerTestOneInput over
 * files (a directory: every file in it, in name order) without libFuzzer,
 * so that the targets' checks run in `make test` with any compiler, over
 * the seeds made from the project's own pcaps and topologies
 * (test/fuzz/replay.sh). A failed check traps: the input that did it is
 * named on stderr before the signal takes the process down. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_common.h"

#define REPLAY_MAX (1 << 20)

static char current[4096];

static void on_fatal(int sig)
{
    static const char pfx[] = "replay: failed on input ";
    ssize_t rc = write(2, pfx, sizeof(pfx) - 1);
    rc += write(2, current, strlen(current));
    rc += write(2, "\n", 1);
    (void)rc;
    signal(sig, SIG_DFL);
    raise(sig);
}

static int run_file(const char *path, uint8_t *buf)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, REPLAY_MAX, f);
    int err = ferror(f);
    fclose(f);
    if (err) {
        fprintf(stderr, "replay: %s: read error\n", path);
        return -1;
    }
    snprintf(current, sizeof(current), "%s", path);
    LLVMFuzzerTestOneInput(buf, n);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; the count, or -1. */
static long run_dir(const char *dir, DIR *d, uint8_t *buf)
{
    char **names = NULL;
    size_t n = 0, cap = 0;
    long done = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            char **more = realloc(names, cap * sizeof(*names));
            if (more == NULL)
                goto fail;
            names = more;
        }
        if ((names[n] = strdup(e->d_name)) == NULL)
            goto fail;
        n++;
    }
    qsort(names, n, sizeof(*names), cmp_names);
    for (size_t i = 0; i < n && done >= 0; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        done = run_file(path, buf) == 0 ? done + 1 : -1;
    }
    goto out;
fail:
    fprintf(stderr, "replay: out of memory listing %s\n", dir);
    done = -1;
out:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return done;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    uint8_t *buf = malloc(REPLAY_MAX);
    if (buf == NULL) {
        fprintf(stderr, "replay: out of memory\n");
        return 1;
    }
    /* not SIGSEGV: under ASan its own report says more */
    int sigs[] = {SIGILL, SIGTRAP, SIGABRT, SIGBUS, SIGFPE};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], on_fatal);
    long total = 0;
    int rc = 0;
    for (int i = 1; i < argc && rc == 0; i++) {
        DIR *d = opendir(argv[i]);
        long n;
        if (d != NULL) {
            n = run_dir(argv[i], d, buf);
            closedir(d);
        } else {
            n = run_file(argv[i], buf) == 0 ? 1 : -1;
        }
        if (n < 0)
            rc = 1;
        else
            total += n;
    }
    free(buf);
    printf("%s: %ld inputs%s\n", argv[0], total, rc ? ", stopped by an error" : "");
    return rc;
}

/* Where a test finds the project's own files (pcaps/, topologies/, core/):
 * the source tree, found as the first ancestor of the test binary that
 * holds `probe` (a path relative to it); build directories live inside the
 * source tree. */
#ifndef SL_TEST_SRCDIR_H
#define SL_TEST_SRCDIR_H

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The source tree's path + `sub` ("" or "/pcaps", say) into buf; false when
 * no ancestor holds probe or buf is too small. */
static inline bool test_src_path(const char *probe, const char *sub, char *buf, size_t n)
{
    char exe[PATH_MAX], path[PATH_MAX + 64];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (l <= 0)
        return false;
    exe[l] = 0;
    for (char *sl = strrchr(exe, '/'); sl; sl = strrchr(exe, '/')) {
        *sl = 0;
        snprintf(path, sizeof(path), "%s/%s", exe, probe);
        if (access(path, R_OK) == 0) {
            int w = snprintf(buf, n, "%s%s", exe, sub);
            return w >= 0 && (size_t)w < n;
        }
    }
    return false;
}

#endif

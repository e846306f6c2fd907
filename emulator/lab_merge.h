/* lab_merge: the loggers' files merged into one log directory.
 *
 * With several loggers every node spreads its batches over them, so each
 * logger holds part of every stream. The merged DIR/<path>.log keeps the
 * first file's header (#separator .. #types, #open), all rows of all files
 * ordered by their first column (ts) -- stable, so rows with equal ts keep
 * the order they had -- and one #close line. JSON lines are merged the same
 * way by their "ts" member.
 */
#ifndef LAB_MERGE_H
#define LAB_MERGE_H

#include <stdio.h>

/* Merges every *.log found in dirs[0..n) into out_dir (created). Returns
 * the number of logs written, or -errno (reason on err). */
int lab_merge_logs(char *const *dirs, unsigned n, const char *out_dir, FILE *err);

#endif

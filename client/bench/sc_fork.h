/* sc_fork: a run split over --fork N child processes, merged into one
 * report by the parent (which publishes). */
#ifndef SC_BENCH_FORK_H
#define SC_BENCH_FORK_H

#include "sc_opts.h"
#include "sc_report.h"
#include "sc_run.h"

int sc_fork_run(const struct sc_opts *o, struct sc_report *out);

#endif

/* sc_proc: clocks and process resources: the bench's own fd limit and CPU,
 * and other processes' RSS and CPU read from /proc. */
#ifndef SC_BENCH_PROC_H
#define SC_BENCH_PROC_H

#include <stdint.h>
#include <sys/types.h>

struct sc_proc_sample {
    uint64_t rss; /* bytes, summed over the processes */
    double cpu;   /* utime + stime seconds, summed */
    int found;    /* processes that could be read */
};

uint64_t sc_now(void);
int sc_proc_sample(const pid_t *pids, int n, struct sc_proc_sample *s);
double sc_proc_self_cpu(void);
int sc_proc_raise_nofile(uint64_t *limit);
void sc_proc_port_range(unsigned *lo, unsigned *hi);

#endif

/* sc_proc: clocks and process resources.
 *
 * Server cost is read from /proc rather than asked of the server so that
 * any server (shardcast, the Node reference, Redis itself) is measured the
 * same way, including its threads (utime/stime of /proc/PID/stat cover the
 * whole thread group). */
#include "sc_proc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Contract: CLOCK_MONOTONIC in ns, the clock every stamp and deadline uses
 * (system-wide, so stamps compare across the bench's processes). */
uint64_t sc_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Contract: reads one process's RSS (bytes) and CPU (s); -errno if it is
 * gone or unreadable. */
static int sample_one(pid_t pid, uint64_t *rss, double *cpu)
{
    char path[64], buf[1024], *p;
    unsigned long long utime, stime, pages;
    long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r")))
        return -errno;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* comm may hold spaces and ')': fields restart after the last ')'. */
    p = strrchr(buf, ')');
    if (!p ||
        sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
        return -EPROTO;
    snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
    if (!(f = fopen(path, "r")))
        return -errno;
    if (fscanf(f, "%*u %llu", &pages) != 1) {
        fclose(f);
        return -EPROTO;
    }
    fclose(f);
    *rss = (uint64_t)pages * (uint64_t)page;
    *cpu = (double)(utime + stime) / (double)tick;
    return 0;
}

/* Contract: sums RSS and CPU over pids into *s; returns the number of
 * processes read (s->found), which is less than n when some have exited. */
int sc_proc_sample(const pid_t *pids, int n, struct sc_proc_sample *s)
{
    uint64_t rss;
    double cpu;
    int i;

    memset(s, 0, sizeof(*s));
    for (i = 0; i < n; i++) {
        if (sample_one(pids[i], &rss, &cpu) == 0) {
            s->rss += rss;
            s->cpu += cpu;
            s->found++;
        }
    }
    return s->found;
}

/* Contract: CPU seconds (user+system) used by this process so far. */
double sc_proc_self_cpu(void)
{
    struct rusage ru;

    if (getrusage(RUSAGE_SELF, &ru) < 0)
        return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

/* Contract: raises RLIMIT_NOFILE's soft limit to the hard limit and stores
 * the result in *limit; -errno when the limits cannot be read or set. */
int sc_proc_raise_nofile(uint64_t *limit)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return -errno;
    if (rl.rlim_cur != rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            return -errno;
    }
    *limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
    return 0;
}

/* Contract: the kernel's ephemeral port range (32768..60999 if unreadable),
 * which bounds connections per source address to one destination. */
void sc_proc_port_range(unsigned *lo, unsigned *hi)
{
    FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

    *lo = 32768;
    *hi = 60999;
    if (!f)
        return;
    if (fscanf(f, "%u %u", lo, hi) != 2) {
        *lo = 32768;
        *hi = 60999;
    }
    fclose(f);
}

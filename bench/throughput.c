// SPDX-License-Identifier: GPL-2.0
/*
 * throughput.c - bulk throughput and CPU per GiB of afmux against raw TCP,
 * both over 127.0.0.1 in one run on one machine (a first step of issue 4;
 * the userspace muxes come next).
 *
 *   throughput [MiB]     (default 1024)
 *
 * Workloads, each with 64 KiB writes and reads on both sides:
 *   tcp        one TCP connection
 *   afmux-1    one stream over one attached TCP connection
 *   afmux-64   64 concurrent streams over one connection, MiB/64 each
 * Prints MiB/s, busy CPU seconds per GiB of the whole (otherwise idle)
 * machine, both ends, and each as a ratio to raw TCP.  Under TCG only the ratios mean
 * anything.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "afmux.h"
#include "../selftests/util.h"

#define IO	(64 * 1024)

struct job {
	int fd;
	uint64_t bytes;
	int err;
};

static void *writer(void *arg)
{
	struct job *j = arg;
	static char buf[IO];
	uint64_t left = j->bytes;

	while (left) {
		size_t n = left < IO ? left : IO;

		if (write_all(j->fd, buf, n)) {
			j->err = errno;
			break;
		}
		left -= n;
	}
	shutdown(j->fd, SHUT_WR);
	return NULL;
}

static void *reader(void *arg)
{
	struct job *j = arg;
	char *buf = malloc(IO);
	uint64_t got = 0;
	ssize_t n;

	while (buf && (n = read(j->fd, buf, IO)) > 0)
		got += n;
	if (got != j->bytes)
		j->err = EIO;
	free(buf);
	return NULL;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Busy CPU seconds of the whole machine (/proc/stat: user, nice, system,
 * irq, softirq): afmux does part of its work in kernel workers and
 * softirq, which getrusage() would not count.  Run alone in the VM.
 */
static double cpu(void)
{
	unsigned long long v[7] = { 0 };
	FILE *f = fopen("/proc/stat", "r");

	if (!f || fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu", &v[0],
			 &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) != 7) {
		if (f)
			fclose(f);
		return 0;
	}
	fclose(f);
	/* user nice system idle iowait irq softirq */
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6]) /
	       sysconf(_SC_CLK_TCK);
}

struct result {
	double mibs, cpu_per_gib;
};

/* Move @bytes over each of @n (writer fd, reader fd) pairs at once. */
static int run(int n, const int *wfd, const int *rfd, uint64_t bytes,
	       struct result *r)
{
	pthread_t *t = calloc(2 * n, sizeof(*t));
	struct job *j = calloc(2 * n, sizeof(*j));
	double t0, c0, secs;
	int i, err = 0;

	if (!t || !j)
		return -1;
	t0 = now();
	c0 = cpu();
	for (i = 0; i < n; i++) {
		j[2 * i] = (struct job){ wfd[i], bytes, 0 };
		j[2 * i + 1] = (struct job){ rfd[i], bytes, 0 };
		pthread_create(&t[2 * i], NULL, writer, &j[2 * i]);
		pthread_create(&t[2 * i + 1], NULL, reader, &j[2 * i + 1]);
	}
	for (i = 0; i < 2 * n; i++) {
		pthread_join(t[i], NULL);
		if (j[i].err)
			err = j[i].err;
	}
	secs = now() - t0;
	r->mibs = (double)bytes * n / (1 << 20) / secs;
	r->cpu_per_gib = (cpu() - c0) / ((double)bytes * n / (1 << 30));
	free(t);
	free(j);
	return err ? -1 : 0;
}

static int bench_tcp(uint64_t bytes, struct result *r)
{
	int c, s, err;

	if (tcp_pair(&c, &s))
		return -1;
	err = run(1, &c, &s, bytes, r);
	close(c);
	close(s);
	return err;
}

static int bench_afmux(int streams, uint64_t bytes, struct result *r)
{
	int *w = calloc(streams, sizeof(int)), *rd = calloc(streams, sizeof(int));
	struct mux *a, *b;
	char key[16];
	int c, s, i, err = -1;

	if (!w || !rd || tcp_pair(&c, &s))
		return -1;
	a = mux_new(c);
	b = mux_new(s);
	close(c);
	close(s);
	if (!a || !b)
		goto out;
	for (i = 0; i < streams; i++) {
		snprintf(key, sizeof(key), "s%d", i);
		w[i] = mux_send(a, key);
		rd[i] = w[i] < 0 ? -1 : mux_receive(b, key, sizeof(key));
		if (rd[i] < 0)
			goto out;
	}
	err = run(streams, w, rd, bytes / streams, r);
	for (i = 0; i < streams; i++) {
		close(w[i]);
		close(rd[i]);
	}
out:
	if (a)
		mux_close(a);
	if (b)
		mux_close(b);
	free(w);
	free(rd);
	return err;
}

int main(int argc, char **argv)
{
	uint64_t bytes = (uint64_t)(argc > 1 ? atoi(argv[1]) : 1024) << 20;
	struct result tcp, one, many;

	if (bench_tcp(bytes, &tcp) || bench_afmux(1, bytes, &one) ||
	    bench_afmux(64, bytes, &many)) {
		perror("throughput");
		return 1;
	}
	printf("# %llu MiB per workload, 64 KiB I/O, 127.0.0.1; under TCG only ratios count\n",
	       (unsigned long long)(bytes >> 20));
	printf("%-10s %10s %8s %12s %8s\n", "workload", "MiB/s", "x tcp",
	       "CPU s/GiB", "x tcp");
	printf("%-10s %10.1f %8.2f %12.3f %8.2f\n", "tcp", tcp.mibs, 1.0,
	       tcp.cpu_per_gib, 1.0);
	printf("%-10s %10.1f %8.2f %12.3f %8.2f\n", "afmux-1", one.mibs,
	       one.mibs / tcp.mibs, one.cpu_per_gib,
	       one.cpu_per_gib / tcp.cpu_per_gib);
	printf("%-10s %10.1f %8.2f %12.3f %8.2f\n", "afmux-64", many.mibs,
	       many.mibs / tcp.mibs, many.cpu_per_gib,
	       many.cpu_per_gib / tcp.cpu_per_gib);
	return 0;
}

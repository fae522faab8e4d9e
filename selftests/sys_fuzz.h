/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sys_fuzz.h - what selftests/sys_fuzz's calls share: the table of fds
 * (slots of a kind, added, picked and taken under one lock), the random
 * numbers, and the checks every call's result goes through.
 */
#ifndef AFMUX_SYS_FUZZ_H
#define AFMUX_SYS_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <linux/afmux.h>
#include <linux/sockios.h>

#include "afmux.h"
#include "util.h"

#define SF_SLOTS	192
#define SF_THREADS_MAX	8
#define SF_CHILDREN	64
#define SF_BUF		(256 * 1024)

enum sf_kind { K_NONE, K_MUX, K_STREAM, K_TCP, K_PIPE_R, K_PIPE_W, K_EPOLL,
	       K_UNIX, K_FILE, K_KINDS };

static const char *const sf_kind_names[K_KINDS] = {
	"none", "mux", "stream", "tcp", "pipe_r", "pipe_w", "epoll", "unix",
	"file",
};

struct sf_slot {
	int fd;
	enum sf_kind kind;
};

static struct {
	pthread_mutex_t lock;		/* the table */
	struct sf_slot slot[SF_SLOTS];
	int family;
	atomic_bool stop;
	atomic_int failures;
	pid_t children[SF_CHILDREN];	/* under lock */
	int nchildren;
	bool verbose;
	bool in_child;
} sf = { .lock = PTHREAD_MUTEX_INITIALIZER };

struct sf_thread {
	pthread_t tid;
	atomic_int task;		/* its kernel task id, for a hang report */
	uint64_t rng;
	atomic_ulong progress;
	atomic_int op;			/* running now, for the watchdog */
	uint8_t *buf;			/* SF_BUF bytes */
};

static uint64_t sf_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t sf_below(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)(sf_rand(s) % n) : 0;
}

/* A length: mostly small, sometimes at a boundary, sometimes large. */
static size_t sf_len(uint64_t *s, size_t max)
{
	static const size_t edges[] = { 0, 1, 255, 256, 4095, 4096, 4097,
					65535, 65536, 65537, 131072 };
	size_t n;

	switch (sf_below(s, 4)) {
	case 0:
		n = edges[sf_below(s, sizeof(edges) / sizeof(edges[0]))];
		break;
	case 1:
		n = sf_below(s, (uint32_t)max + 1);
		break;
	default:
		n = sf_below(s, 2048);
		break;
	}
	return n > max ? max : n;
}

static void sf_fail(const char *what, int op, const char *detail)
{
	atomic_fetch_add(&sf.failures, 1);
	printf("# FAIL %s%s: op %d: %s\n", sf.in_child ? "(child) " : "", what,
	       op, detail);
	fflush(stdout);
}

/* What every call must hold: no internal errno, no EFAULT, no overrun. */
static void sf_check(int op, long ret, size_t asked)
{
	char msg[96];

	if (ret < 0 && (errno >= 512 || errno == EFAULT)) {
		snprintf(msg, sizeof(msg), "errno %d (%s)", errno,
			 strerror(errno));
		sf_fail("bad errno", op, msg);
	} else if (ret > 0 && asked != (size_t)-1 && (size_t)ret > asked) {
		snprintf(msg, sizeof(msg), "returned %ld for %zu bytes", ret,
			 asked);
		sf_fail("overrun", op, msg);
	}
}

/* Add @fd to the table, or close it if the table is full. */
static void sf_add(int fd, enum sf_kind kind)
{
	unsigned int i;

	if (fd < 0)
		return;
	pthread_mutex_lock(&sf.lock);
	for (i = 0; i < SF_SLOTS; i++) {
		if (sf.slot[i].kind == K_NONE) {
			sf.slot[i].fd = fd;
			sf.slot[i].kind = kind;
			pthread_mutex_unlock(&sf.lock);
			return;
		}
	}
	pthread_mutex_unlock(&sf.lock);
	close(fd);
}

/*
 * A random fd of @kind (K_NONE: any kind), or -1; its kind in *@got if
 * not NULL.  With @take it leaves the table (the caller closes it); else
 * it may go stale.
 */
static int sf_find(uint64_t *s, enum sf_kind kind, enum sf_kind *got,
		   bool take)
{
	unsigned int i, start = sf_below(s, SF_SLOTS);
	int fd = -1;

	pthread_mutex_lock(&sf.lock);
	for (i = 0; i < SF_SLOTS; i++) {
		struct sf_slot *sl = &sf.slot[(start + i) % SF_SLOTS];

		if (sl->kind != K_NONE && (kind == K_NONE || sl->kind == kind)) {
			fd = sl->fd;
			if (got)
				*got = sl->kind;
			if (take)
				sl->kind = K_NONE;
			break;
		}
	}
	pthread_mutex_unlock(&sf.lock);
	return fd;
}

static int sf_pick(uint64_t *s, enum sf_kind kind, enum sf_kind *got)
{
	return sf_find(s, kind, got, false);
}

static int sf_take(uint64_t *s, enum sf_kind kind)
{
	return sf_find(s, kind, NULL, true);
}

#endif /* AFMUX_SYS_FUZZ_H */

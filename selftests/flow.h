/* SPDX-License-Identifier: GPL-2.0 */
/*
 * flow.h - flows: one direction of a stream, bytes from a seeded
 * generator written (or sent with sendfile) by one thread and read (or
 * spliced) by another, both ends' SHA-256 compared (selftests/ktls.c,
 * selftests/pool.c).
 */
#ifndef _AFMUX_FLOW_H
#define _AFMUX_FLOW_H

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "util.h"
#include "sha256.h"

#define CHUNK		(64 * 1024)

/* One direction of a stream: bytes from a seeded generator, hashed. */
struct flow {
	int fd;
	size_t len;		/* to write; read: what came */
	uint32_t seed;
	uint8_t sha[SHA256_LEN];
	int err;		/* errno of a failed call, 0 */
	bool by_sendfile;	/* write with sendfile from a file */
	bool by_splice;		/* read with splice through a pipe */
};

static void fill(uint8_t *p, size_t n, uint32_t *x)
{
	size_t i;

	for (i = 0; i < n; i++) {
		*x ^= *x << 13;
		*x ^= *x >> 17;
		*x ^= *x << 5;
		p[i] = (uint8_t)*x;
	}
}

/* Write with sendfile from an unlinked file of the same bytes. */
static int flow_sendfile(struct flow *f, struct sha256 *h, uint8_t *buf)
{
	char path[] = "/tmp/afmux-flow-XXXXXX";
	uint32_t x = f->seed;
	size_t done = 0;
	off_t off = 0;
	int fd = mkstemp(path);

	if (fd < 0)
		return -1;
	unlink(path);
	while (done < f->len) {
		size_t n = f->len - done < CHUNK ? f->len - done : CHUNK;

		fill(buf, n, &x);
		sha256_update(h, buf, n);
		if (write_all(fd, buf, n))
			goto fail;
		done += n;
	}
	while ((size_t)off < f->len)
		if (sendfile(f->fd, fd, &off, f->len - (size_t)off) <= 0)
			goto fail;
	close(fd);
	return 0;
fail:
	close(fd);
	return -1;
}

static void *flow_write(void *arg)
{
	struct flow *f = arg;
	uint8_t *buf = malloc(CHUNK);
	uint32_t x = f->seed;
	struct sha256 h;
	size_t done = 0;

	sha256_init(&h);
	if (!buf) {
		f->err = ENOMEM;
		return NULL;
	}
	if (f->by_sendfile) {
		if (flow_sendfile(f, &h, buf))
			f->err = errno;
		done = f->len;
	}
	while (done < f->len && !f->err) {
		size_t n = f->len - done < CHUNK ? f->len - done : CHUNK;

		fill(buf, n, &x);
		sha256_update(&h, buf, n);
		if (write_all(f->fd, buf, n))
			f->err = errno;
		done += n;
	}
	sha256_final(&h, f->sha);
	if (!f->err && shutdown(f->fd, SHUT_WR))
		f->err = errno;
	free(buf);
	return NULL;
}

/* Read with splice through a pipe, then from the pipe. */
static ssize_t flow_splice(int fd, int pipefd[2], uint8_t *buf)
{
	ssize_t n = splice(fd, NULL, pipefd[1], NULL, CHUNK, 0);

	if (n <= 0)
		return n;
	return read_full(pipefd[0], buf, (size_t)n) == n ? n : -1;
}

static void *flow_read(void *arg)
{
	struct flow *f = arg;
	uint8_t *buf = malloc(CHUNK);
	int pipefd[2] = { -1, -1 };
	struct sha256 h;
	ssize_t n;

	sha256_init(&h);
	f->len = 0;
	if (!buf || (f->by_splice && pipe(pipefd))) {
		f->err = ENOMEM;
		free(buf);
		return NULL;
	}
	for (;;) {
		n = f->by_splice ? flow_splice(f->fd, pipefd, buf) :
				   read(f->fd, buf, CHUNK);
		if (n <= 0)
			break;
		sha256_update(&h, buf, (size_t)n);
		f->len += (size_t)n;
	}
	if (n < 0)
		f->err = errno;
	sha256_final(&h, f->sha);
	if (pipefd[0] >= 0) {
		close(pipefd[0]);
		close(pipefd[1]);
	}
	free(buf);
	return NULL;
}

/* Run @n writers and @n readers at once; each reader gets its writer's. */
static void run_flows(struct __test_metadata *_metadata, struct flow *w,
		      struct flow *r, int n)
{
	pthread_t *t = calloc(2 * (size_t)n, sizeof(*t));
	int i;

	ASSERT_NE(NULL, t);
	for (i = 0; i < n; i++) {
		ASSERT_EQ(0, pthread_create(&t[2 * i], NULL, flow_read, &r[i]));
		ASSERT_EQ(0, pthread_create(&t[2 * i + 1], NULL, flow_write,
					    &w[i]));
	}
	for (i = 0; i < 2 * n; i++)
		pthread_join(t[i], NULL);
	free(t);
	for (i = 0; i < n; i++) {
		char hw[2 * SHA256_LEN + 1], hr[2 * SHA256_LEN + 1];

		EXPECT_EQ(0, w[i].err) TH_LOG("flow %d write: %s", i,
					      strerror(w[i].err));
		EXPECT_EQ(0, r[i].err) TH_LOG("flow %d read: %s", i,
					      strerror(r[i].err));
		EXPECT_EQ(w[i].len, r[i].len) TH_LOG("flow %d", i);
		EXPECT_STREQ(sha256_hex(w[i].sha, hw), sha256_hex(r[i].sha, hr))
			TH_LOG("flow %d", i);
	}
}

/* How a test opens @n streams on @a and accepts them on @b (fb[i]: fa[i]'s). */
typedef void (*flow_open_fn)(struct __test_metadata *_metadata,
			     struct mux *a, struct mux *b, int n, int *fa,
			     int *fb);

/*
 * Seed case 1 between @a and @b: @len bytes one way over one stream,
 * then 2 x @len the other way at once, each checked by SHA-256.
 */
static void flow_case1(struct __test_metadata *_metadata, struct mux *a,
		       struct mux *b, size_t len, flow_open_fn open)
{
	struct flow w[2], r[2];
	int fa[2], fb[2], i;

	open(_metadata, a, b, 1, fa, fb);
	memset(w, 0, sizeof(w));
	memset(r, 0, sizeof(r));
	w[0] = (struct flow){ .fd = fa[0], .len = len, .seed = 11 };
	r[0].fd = fb[0];
	run_flows(_metadata, w, r, 1);
	close(fa[0]);
	close(fb[0]);

	open(_metadata, b, a, 2, fb, fa);
	memset(w, 0, sizeof(w));
	memset(r, 0, sizeof(r));
	for (i = 0; i < 2; i++) {
		w[i] = (struct flow){ .fd = fb[i], .len = len, .seed = 12 + i };
		r[i].fd = fa[i];
	}
	run_flows(_metadata, w, r, 2);
	for (i = 0; i < 2; i++) {
		close(fa[i]);
		close(fb[i]);
	}
}

#endif /* _AFMUX_FLOW_H */

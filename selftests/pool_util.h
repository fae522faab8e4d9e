/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pool_util.h - what selftests/pool.c and pool_wire.c share: AFMUX_POOL read
 * back, joining both ends of a new TCP connection at once, streams
 * opened across a pool, and a raw version 2 peer (its first connection,
 * its joins) written by hand from docs/protocol.md §12.
 * Include after kselftest_harness.h, util.h and afmux.h.
 */
#ifndef AFMUX_SELFTEST_POOL_UTIL_H
#define AFMUX_SELFTEST_POOL_UTIL_H

#include <pthread.h>

#define FT_POOL		7
#define E_REFUSED_JOIN	7
#define POOL_LEN	24
#define JOIN_PREFACE_LEN 48

static const uint8_t hello[8] __attribute__((unused)) = { 'A', 'F', 'M', 'U', 'X', 0, 0, 2 };

static inline struct afmux_pool_info pool_info_fd(int fd)
{
	struct afmux_pool_info pi;
	socklen_t len = sizeof(pi);

	memset(&pi, 0xff, sizeof(pi));
	if (getsockopt(fd, SOL_AFMUX, AFMUX_POOL, &pi, &len) ||
	    len != sizeof(pi))
		memset(&pi, 0xff, sizeof(pi));
	return pi;
}

static inline struct afmux_pool_info pool_info(struct mux *m)
{
	return pool_info_fd(mux_fd(m));
}

/* One side's mux_join(), in a thread: the other side joins at once. */
struct joiner {
	struct mux *m;
	int fd;
	int link;
	int err;
};

static inline void *joiner_run(void *arg)
{
	struct joiner *j = arg;

	j->link = mux_join(j->m, j->fd);
	j->err = j->link < 0 ? errno : 0;
	return NULL;
}

/*
 * A new TCP connection between @a and @b, joined on both ends at once;
 * the TCP fds in @fa/@fb if not NULL (else closed).  Returns @a's link
 * number, or -1 with the two ends' errnos in @ea/@eb.
 */
static inline int join_both(struct mux *a, struct mux *b, int *fa, int *fb,
		     int *ea, int *eb)
{
	struct joiner ja = { .m = a }, jb = { .m = b };
	pthread_t t;

	*ea = *eb = 0;
	if (tcp_pair(&ja.fd, &jb.fd))
		return *ea = errno, -1;
	if (pthread_create(&t, NULL, joiner_run, &ja))
		return *ea = EAGAIN, -1;
	joiner_run(&jb);
	pthread_join(t, NULL);
	if (fa)
		*fa = ja.fd;
	else
		close(ja.fd);
	if (fb)
		*fb = jb.fd;
	else
		close(jb.fd);
	*ea = ja.err;
	*eb = jb.err;
	if (ja.err || jb.err)
		return -1;
	return ja.link == jb.link ? ja.link : -2;
}

/* Open @n streams on @a, accept them on @b: fb[i] is fa[i]'s peer. */
static inline void pool_streams(struct __test_metadata *_metadata, struct mux *a,
			 struct mux *b, int n, int *fa, int *fb)
{
	char key[32], got[64];
	int i, k, fd;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "pool-%d", i);
		fa[i] = mux_open(a, key, strlen(key), 0, NULL);
		ASSERT_GE(fa[i], 0) TH_LOG("open %d: %s", i, strerror(errno));
		fb[i] = -1;
	}
	/* Streams on different connections may arrive in any order. */
	for (i = 0; i < n; i++) {
		fd = mux_receive(b, got, sizeof(got));
		ASSERT_GE(fd, 0) TH_LOG("accept %d: %s", i, strerror(errno));
		ASSERT_EQ(1, sscanf(got, "pool-%d", &k));
		ASSERT_TRUE(k >= 0 && k < n && fb[k] < 0);
		fb[k] = fd;
		EXPECT_EQ(mux_stream_link(fa[k]), mux_stream_link(fd))
			TH_LOG("stream %d", k);
	}
}

/*
 * A raw version 2 peer on a new pooled mux's first connection: it offers
 * the pool (HELLO, POOL with id 42) and reads the mux's POOL into @cred.
 * Returns the mux, or NULL.
 */
static inline struct mux *raw_pool_peer(struct __test_metadata *_metadata, int *raw,
				 uint8_t cred[POOL_LEN])
{
	uint8_t buf[256], h[HEADER_LEN], p[64];
	uint8_t mine[POOL_LEN] = { 0, 0, 0, 0, 0, 0, 0, 42 };
	struct timeval tv = { .tv_sec = 10 };
	struct mux *m;
	int tcp, n, i;

	if (tcp_pair(raw, &tcp))
		return NULL;
	setsockopt(*raw, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	m = mux_new_pool(tcp);
	close(tcp);
	if (!m)
		return NULL;
	n = (int)put_preface(buf, 65536, 16);
	n += (int)put_frame(buf + n, FT_PING, 0, hello, 8);
	n += (int)put_frame(buf + n, FT_POOL, 0, mine, POOL_LEN);
	EXPECT_EQ(0, write_all(*raw, buf, (size_t)n));
	EXPECT_EQ(PREFACE_LEN, read_full(*raw, buf, PREFACE_LEN));
	/* HELLO, the ACK of ours, POOL: in some order after HELLO. */
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, raw_read_frame(*raw, h, p, sizeof(p)));
		if (h[0] == FT_POOL) {
			EXPECT_EQ(POOL_LEN, get_be32(h + 4));
			memcpy(cred, p, POOL_LEN);
		}
	}
	return m;
}

/*
 * A raw join to @m's pool over a new TCP connection: the raw end's join
 * preface (presenting @cred, its last byte flipped if @wrong) in *@rj,
 * the JOIN's result in *@link (-errno if it failed).  The mux's own join
 * preface is left to be read.
 */
static inline void raw_join_one(struct __test_metadata *_metadata, struct mux *m,
			 const uint8_t cred[POOL_LEN], bool wrong, int *rj,
			 int *link)
{
	uint8_t jp[JOIN_PREFACE_LEN];
	struct timeval tv = { .tv_sec = 10 };
	struct afmux_join j;
	int tj;

	ASSERT_EQ(0, tcp_pair(rj, &tj));
	setsockopt(*rj, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	put_preface(jp, 65536, 16);
	put_be16(jp + 8, 2);
	put_be16(jp + 10, 1);
	memcpy(jp + 24, cred, POOL_LEN);
	if (wrong)
		jp[47] ^= 1;
	ASSERT_EQ(0, write_all(*rj, jp, sizeof(jp)));
	j = (struct afmux_join){ .fd = tj };
	*link = ioctl(mux_fd(m), AFMUX_IOC_JOIN, &j) ? -errno : (int)j.link;
	close(tj);
}

#endif /* AFMUX_SELFTEST_POOL_UTIL_H */

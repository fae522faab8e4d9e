/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stream_util.h - what the stream selftests (streams.c, stream_open.c,
 * stream_close.c, stream_io.c) share: poll(2) on one fd, a mux's
 * AFMUX_STATS, failures reported from threads (struct tres), generated
 * payloads checked piece by piece and by SHA-256, and the "mux" fixture.
 *
 * The "mux" fixture: one TCP connection over 127.0.0.1 whose two ends
 * are attached to two muxes in this process, "client" and "server".
 * Whenever a transfer can exceed a stream's window, the two ends run in
 * different threads; threads never use ASSERT/EXPECT (they longjmp to
 * the main thread's context): they record what went wrong in a struct
 * tres, print it at once (so a test that then hangs still says why) and
 * the main thread checks it after pthread_join().
 *
 * Payloads are generated (xorshift64*, seeded by key and stream ID) so
 * that a receiver can check them in 64 KiB pieces without anyone holding
 * a whole payload; every check also compares SHA-256 digests.
 */
#ifndef AFMUX_SELFTEST_STREAM_UTIL_H
#define AFMUX_SELFTEST_STREAM_UTIL_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "sha256.h"
#include "util.h"

/* Not every program uses every helper here. */
#ifndef __maybe_unused
#define __maybe_unused	__attribute__((__unused__))
#endif

#define CHUNK		(64 * 1024)	/* I/O and payload generation unit */
#define WAIT_MS		10000		/* for an event that must come */

/* ---- small I/O helpers ------------------------------------------------ */

/* poll(2) on one fd: its revents, 0 on timeout, -1 on error. */
static __maybe_unused int poll1(int fd, short events, int ms)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -1;
	return n ? p.revents : 0;
}

/* ---- errors from threads ---------------------------------------------- */

struct tres {
	int failed;
	char msg[512];
	bool can_wake;
	pthread_t wake;		/* the thread waiting for this one's data */
};

/*
 * Set when a thread failed: the thread that waits for its streams gets
 * SIGUSR1 (no SA_RESTART), so that a blocking accept or read there
 * returns EINTR instead of waiting for the test's timeout.  A signal can
 * land just before the call it should interrupt, so the failing thread
 * sends it for a few seconds; this is only ever done on the way to
 * failing the test, and the thread to wake must outlive it (the waker is
 * joined first, or the woken thread is the test's main thread).
 */
static volatile sig_atomic_t peer_failed;

static void on_wake(int sig)
{
	(void)sig;
}

static void install_wake(void)
{
	struct sigaction sa = { .sa_handler = on_wake };

	sigaction(SIGUSR1, &sa, NULL);
}

/* Records (and prints at once) the first failure of a thread. */
static __maybe_unused void __attribute__((format(printf, 2, 3)))
tfail(struct tres *r, const char *fmt, ...)
{
	va_list ap;
	int i;

	if (r->failed++)
		return;
	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "# [thread] %s\n", r->msg);
	peer_failed = 1;
	for (i = 0; r->can_wake && i < 100; i++) {
		pthread_kill(r->wake, SIGUSR1);
		nanosleep(&(struct timespec){ .tv_nsec = 50 * 1000 * 1000 }, NULL);
	}
}

#define EXPECT_THREAD_OK(who, r) \
	EXPECT_EQ(0, (r)->failed) TH_LOG("%s: %s", who, (r)->msg)

/* ---- payloads ---------------------------------------------------------- */

/* xorshift64*: a byte stream that does not depend on how it is cut. */
struct gen {
	uint64_t s;
	uint8_t word[8];
	unsigned int pos;	/* next unused byte of word; 8: none left */
};

static __maybe_unused void gen_init(struct gen *g, uint64_t seed)
{
	g->s = seed * 0x9e3779b97f4a7c15ULL ^ 0xd1b54a32d192ed03ULL;
	if (!g->s)
		g->s = 1;
	g->pos = 8;
}

static __maybe_unused uint64_t gen_next(struct gen *g)
{
	uint64_t x = g->s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	g->s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static __maybe_unused void gen_fill(struct gen *g, void *buf,
				    size_t len)
{
	uint8_t *p = buf;
	uint64_t v;

	while (len && g->pos < 8) {
		*p++ = g->word[g->pos++];
		len--;
	}
	for (; len >= 8; p += 8, len -= 8) {
		v = gen_next(g);
		memcpy(p, &v, 8);
	}
	if (len) {
		v = gen_next(g);
		memcpy(g->word, &v, 8);
		g->pos = 0;
		while (len--)
			*p++ = g->word[g->pos++];
	}
}

static __maybe_unused uint64_t fnv1a(const void *buf, size_t len)
{
	const uint8_t *p = buf;
	uint64_t h = 0xcbf29ce484222325ULL;

	while (len--)
		h = (h ^ *p++) * 0x100000001b3ULL;
	return h;
}

/* Which payload a stream carries: both ends know its key and ID. */
static __maybe_unused uint64_t stream_seed(const void *key,
					   size_t key_len, uint32_t id)
{
	return fnv1a(key, key_len) ^ (uint64_t)id * 0xff51afd7ed558ccdULL;
}

/* The SHA-256 of the first @len bytes of payload @seed. */
static __maybe_unused void payload_sha(uint64_t seed, uint64_t len,
				       uint8_t out[SHA256_LEN])
{
	uint8_t *buf = malloc(CHUNK);
	struct sha256 c;
	struct gen g;
	size_t n;

	gen_init(&g, seed);
	sha256_init(&c);
	for (; buf && len; len -= n) {
		n = len < CHUNK ? len : CHUNK;
		gen_fill(&g, buf, n);
		sha256_update(&c, buf, n);
	}
	sha256_final(&c, out);
	free(buf);
}

/*
 * Writes @len bytes of payload @seed to @fd in CHUNK-sized pieces, and
 * their SHA-256 to @sha unless it is NULL.  0, or -1 with errno and the
 * count written so far in *@sent (if not NULL).
 */
static __maybe_unused int send_payload(int fd, uint64_t seed,
				       uint64_t len, uint8_t sha[SHA256_LEN],
				       uint64_t *sent)
{
	uint8_t *buf = malloc(CHUNK);
	uint64_t done = 0;
	struct sha256 c;
	struct gen g;
	int ret = 0, err = 0;
	size_t n;

	if (!buf) {
		if (sent)
			*sent = 0;
		return -1;
	}
	gen_init(&g, seed);
	sha256_init(&c);
	for (; done < len; done += n) {
		n = len - done < CHUNK ? len - done : CHUNK;
		gen_fill(&g, buf, n);
		if (sha)
			sha256_update(&c, buf, n);
		if (write_all(fd, buf, n)) {
			err = errno;
			ret = -1;
			break;
		}
	}
	if (sha)
		sha256_final(&c, sha);
	if (sent)
		*sent = done;
	free(buf);
	errno = err;
	return ret;
}

/* What a reader saw on one stream. */
struct rx {
	uint64_t bytes;		/* read before EOF or the error */
	int64_t mismatch;	/* first byte that differs from the payload */
	int err;		/* 0: ended with EOF; else read's errno */
	uint8_t sha[SHA256_LEN];	/* of the bytes read */
};

/*
 * Reads @fd until EOF or an error, comparing every byte with payload
 * @seed and hashing what it read.
 */
static __maybe_unused void recv_payload(int fd, uint64_t seed,
					struct rx *rx)
{
	uint8_t *buf = malloc(CHUNK), *want = malloc(CHUNK);
	struct sha256 c;
	struct gen g;
	ssize_t n, i;

	memset(rx, 0, sizeof(*rx));
	rx->mismatch = -1;
	gen_init(&g, seed);
	sha256_init(&c);
	if (!buf || !want) {
		rx->err = ENOMEM;
		goto out;
	}
	for (;;) {
		n = read(fd, buf, CHUNK);
		if (n < 0 && errno == EINTR && !peer_failed)
			continue;
		if (n < 0)
			rx->err = errno;
		if (n <= 0)
			break;
		gen_fill(&g, want, (size_t)n);
		if (rx->mismatch < 0 && memcmp(buf, want, (size_t)n)) {
			for (i = 0; buf[i] == want[i]; i++)
				;
			rx->mismatch = (int64_t)rx->bytes + i;
		}
		sha256_update(&c, buf, (size_t)n);
		rx->bytes += (uint64_t)n;
	}
out:
	sha256_final(&c, rx->sha);
	free(buf);
	free(want);
}

/* @what ended in EOF after exactly @len bytes, all right, hashing to @sha. */
static __maybe_unused void check_rx(struct __test_metadata *_metadata,
				    const char *what, const struct rx *rx,
				    uint64_t len,
				    const uint8_t sha[SHA256_LEN])
{
	char got[2 * SHA256_LEN + 1], want[2 * SHA256_LEN + 1];

	EXPECT_EQ(0, rx->err)
		TH_LOG("%s: read failed after %llu bytes with %s; expected EOF after %llu bytes",
		       what, (unsigned long long)rx->bytes, strerror(rx->err),
		       (unsigned long long)len);
	EXPECT_EQ(len, rx->bytes)
		TH_LOG("%s: stream ended after %llu bytes; expected exactly %llu",
		       what, (unsigned long long)rx->bytes,
		       (unsigned long long)len);
	EXPECT_EQ(-1, rx->mismatch)
		TH_LOG("%s: first wrong byte at offset %lld (expected the generated payload)",
		       what, (long long)rx->mismatch);
	EXPECT_EQ(0, memcmp(rx->sha, sha, SHA256_LEN))
		TH_LOG("%s: SHA-256 of the data read is %s; expected %s", what,
		       sha256_hex(rx->sha, got), sha256_hex(sha, want));
}

/* An incoming stream, accepted and read to its end. */
struct recvd {
	char key[AFMUX_KEY_MAX + 1];
	size_t key_len;
	uint32_t id;
	struct rx rx;
};

/* Accepts the next stream of @m and reads it: 0, or -1 (accept's errno). */
static __maybe_unused int recv_one(struct mux *m, struct recvd *r)
{
	int fd;

	r->key_len = sizeof(r->key) - 1;
	fd = mux_accept(m, r->key, &r->key_len, AFMUX_O_CLOEXEC, &r->id);
	if (fd < 0)
		return -1;
	r->key[r->key_len] = '\0';
	recv_payload(fd, stream_seed(r->key, r->key_len, r->id), &r->rx);
	close(fd);
	return 0;
}

/* ---- fixtures ---------------------------------------------------------- */

FIXTURE(mux) {
	struct mux *client, *server;
};

FIXTURE_SETUP(mux)
{
	int c, s;

	/* A broken stream must show up as EPIPE, not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	install_wake();
	ASSERT_EQ(0, tcp_pair(&c, &s))
		TH_LOG("TCP connection over 127.0.0.1: %s", strerror(errno));
	self->client = mux_new(c);
	ASSERT_NE(NULL, self->client)
		TH_LOG("mux_new(client's TCP socket) failed: %s", strerror(errno));
	self->server = mux_new(s);
	ASSERT_NE(NULL, self->server)
		TH_LOG("mux_new(server's TCP socket) failed: %s", strerror(errno));
	/* The muxes hold their own references to the TCP sockets. */
	close(c);
	close(s);
}

FIXTURE_TEARDOWN(mux)
{
	if (self->client)
		mux_close(self->client);
	if (self->server)
		mux_close(self->server);
}

#endif /* AFMUX_SELFTEST_STREAM_UTIL_H */

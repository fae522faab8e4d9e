// SPDX-License-Identifier: GPL-2.0
/*
 * stream_open.c - selftests for opening AF_MUX streams (the mux fixture
 * of stream_util.h): stream IDs and keys, 100 streams under one key one
 * after another and all open at once, a thousand streams open at once,
 * and both ends opening their first stream at the same time.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "sha256.h"
#include "util.h"
#include "stream_util.h"

/* ---- one key, many streams ---------------------------------------------- */

TEST_F_TIMEOUT(mux, same_key_sequential, 120)
{
	uint8_t sha[SHA256_LEN];
	uint32_t oid, aid, prev = 0;
	char key[16], label[64];
	size_t klen, len;
	struct rx rx;
	int i, c, s;

	for (i = 0; i < 100; i++) {
		len = 1000 + 97 * (size_t)i;	/* below any window */
		c = mux_open(self->client, "same", 4, 0, &oid);
		ASSERT_GE(c, 0) TH_LOG("open #%d failed: %s", i, strerror(errno));
		ASSERT_EQ(0, send_payload(c, stream_seed("same", 4, oid), len,
					  NULL, NULL))
			TH_LOG("stream #%d: write failed: %s", i, strerror(errno));
		ASSERT_EQ(0, close(c));

		klen = sizeof(key);
		s = mux_accept(self->server, key, &klen, 0, &aid);
		ASSERT_GE(s, 0) TH_LOG("accept #%d failed: %s", i, strerror(errno));
		EXPECT_EQ(4U, klen);
		EXPECT_EQ(0, memcmp(key, "same", 4));
		EXPECT_EQ(oid, aid)
			TH_LOG("stream #%d: accepted with ID %u, opened as %u",
			       i, aid, oid);
		EXPECT_GT(aid, prev)
			TH_LOG("stream #%d: ID %u is not above the previous %u",
			       i, aid, prev);
		prev = aid;
		recv_payload(s, stream_seed("same", 4, aid), &rx);
		payload_sha(stream_seed("same", 4, oid), len, sha);
		snprintf(label, sizeof(label), "stream #%d (ID %u)", i, aid);
		check_rx(_metadata, label, &rx, len, sha);
		EXPECT_EQ(0, close(s));
	}
}

/*
 * @n concurrent streams from @tx to @rx: a writer thread opens all of
 * them, then writes @size bytes to each in four round-robin passes, then
 * closes them; a reader thread accepts all of them, and only then reads
 * them.  The writer keeps at most MANY_AHEAD streams opened but not yet
 * accepted, so the test does not depend on the accept backlog being as
 * deep as @n.
 */
#define MANY_AHEAD 64

struct many_tx {
	int fd;
	uint32_t id;
	char key[16];
	struct gen g;
};

struct many {
	struct mux *tx, *rx;
	unsigned int n;
	size_t size;
	bool same_key;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int accepted;	/* under lock */
	bool reader_gone;	/* under lock */
	struct many_tx *txs;
	struct recvd *rxs;
	int *rx_fd;
	struct tres wr, rd;
};

static void *many_writer(void *arg)
{
	struct many *mm = arg;
	uint8_t *buf = malloc(mm->size);
	struct many_tx *t;
	unsigned int i, pass;
	size_t part, off;
	bool gone;

	if (!buf) {
		tfail(&mm->wr, "out of memory");
		return NULL;
	}
	for (i = 0; i < mm->n; i++) {
		pthread_mutex_lock(&mm->lock);
		while (i >= mm->accepted + MANY_AHEAD && !mm->reader_gone)
			pthread_cond_wait(&mm->cond, &mm->lock);
		gone = mm->reader_gone;
		pthread_mutex_unlock(&mm->lock);
		if (gone) {
			tfail(&mm->wr, "reader gave up after %u streams opened", i);
			goto out;
		}
		t = &mm->txs[i];
		snprintf(t->key, sizeof(t->key), mm->same_key ? "same" : "k%05u", i);
		t->fd = mux_open(mm->tx, t->key, strlen(t->key), AFMUX_O_CLOEXEC,
				 &t->id);
		if (t->fd < 0) {
			tfail(&mm->wr, "opening stream %u of %u failed: %s", i + 1,
			      mm->n, strerror(errno));
			goto out;
		}
		gen_init(&t->g, stream_seed(t->key, strlen(t->key), t->id));
	}
	for (pass = 0, off = 0; pass < 4; pass++, off += part) {
		part = pass < 3 ? mm->size / 4 : mm->size - off;
		for (i = 0; i < mm->n; i++) {
			t = &mm->txs[i];
			gen_fill(&t->g, buf, part);
			if (write_all(t->fd, buf, part)) {
				tfail(&mm->wr, "stream \"%s\" (ID %u): write of bytes %zu..%zu failed: %s",
				      t->key, t->id, off, off + part,
				      strerror(errno));
				goto out;
			}
		}
	}
	for (i = 0; i < mm->n; i++) {
		if (close(mm->txs[i].fd))
			tfail(&mm->wr, "close(stream %u): %s", i, strerror(errno));
		mm->txs[i].fd = -1;
	}
out:
	free(buf);
	return NULL;
}

static void *many_reader(void *arg)
{
	struct many *mm = arg;
	struct recvd *r;
	unsigned int j;

	for (j = 0; j < mm->n; j++) {
		r = &mm->rxs[j];
		r->key_len = sizeof(r->key) - 1;
		mm->rx_fd[j] = mux_accept(mm->rx, r->key, &r->key_len,
					  AFMUX_O_CLOEXEC, &r->id);
		if (mm->rx_fd[j] < 0) {
			tfail(&mm->rd, "accepting stream %u of %u failed: %s",
			      j + 1, mm->n, strerror(errno));
			pthread_mutex_lock(&mm->lock);
			mm->reader_gone = true;
			pthread_cond_broadcast(&mm->cond);
			pthread_mutex_unlock(&mm->lock);
			return NULL;
		}
		r->key[r->key_len] = '\0';
		pthread_mutex_lock(&mm->lock);
		mm->accepted++;
		pthread_cond_broadcast(&mm->cond);
		pthread_mutex_unlock(&mm->lock);
	}
	/* All @n streams are open at once here; now read them. */
	for (j = 0; j < mm->n && !peer_failed; j++) {
		r = &mm->rxs[j];
		recv_payload(mm->rx_fd[j],
			     stream_seed(r->key, r->key_len, r->id), &r->rx);
		close(mm->rx_fd[j]);
	}
	return NULL;
}

static void many_streams(struct __test_metadata *_metadata, struct mux *tx,
			 struct mux *rx, unsigned int n, size_t size,
			 bool same_key)
{
	struct many *mm = calloc(1, sizeof(*mm));
	char got[2 * SHA256_LEN + 1], want[2 * SHA256_LEN + 1];
	uint8_t sha[SHA256_LEN];
	unsigned int i, j, bad = 0;
	pthread_t wt, rt;
	bool *seen;
	struct recvd *r;
	const char *why;

	ASSERT_NE(NULL, mm);
	mm->tx = tx;
	mm->rx = rx;
	mm->n = n;
	mm->size = size;
	mm->same_key = same_key;
	mm->txs = calloc(n, sizeof(*mm->txs));
	mm->rxs = calloc(n, sizeof(*mm->rxs));
	mm->rx_fd = calloc(n, sizeof(*mm->rx_fd));
	seen = calloc(n, sizeof(*seen));
	ASSERT_TRUE(mm->txs && mm->rxs && mm->rx_fd && seen);
	pthread_mutex_init(&mm->lock, NULL);
	pthread_cond_init(&mm->cond, NULL);

	ASSERT_EQ(0, pthread_create(&rt, NULL, many_reader, mm));
	mm->wr.wake = rt;
	mm->wr.can_wake = true;
	ASSERT_EQ(0, pthread_create(&wt, NULL, many_writer, mm));
	ASSERT_EQ(0, pthread_join(wt, NULL));
	/* Not joined if the writer failed: the reader may still wait. */
	ASSERT_EQ(0, mm->wr.failed) TH_LOG("writer: %s", mm->wr.msg);
	ASSERT_EQ(0, pthread_join(rt, NULL));
	EXPECT_THREAD_OK("reader", &mm->rd);
	if (mm->rd.failed)
		return;

	for (j = 0; j < n; j++) {
		r = &mm->rxs[j];
		why = NULL;
		for (i = 0; i < n && mm->txs[i].id != r->id; i++)
			;
		if (i == n) {
			why = "no stream was opened with this ID";
		} else if (seen[i]) {
			why = "this ID was accepted twice";
		} else if (strcmp(r->key, mm->txs[i].key)) {
			why = "key differs from the opener's";
		} else {
			seen[i] = true;
			payload_sha(stream_seed(r->key, r->key_len, r->id), size,
				    sha);
			if (r->rx.err)
				why = "read failed";
			else if (r->rx.bytes != size)
				why = "wrong length";
			else if (r->rx.mismatch >= 0 ||
				 memcmp(sha, r->rx.sha, SHA256_LEN))
				why = "wrong data";
		}
		if (why && bad++ < 5)
			TH_LOG("accepted stream %u (key \"%s\", ID %u): %s; read %llu bytes (expected %zu) ending with %s, first wrong byte %lld, SHA-256 %s (expected %s)",
			       j, r->key, r->id, why,
			       (unsigned long long)r->rx.bytes, size,
			       r->rx.err ? strerror(r->rx.err) : "EOF",
			       (long long)r->rx.mismatch,
			       sha256_hex(r->rx.sha, got), sha256_hex(sha, want));
	}
	EXPECT_EQ(0U, bad) TH_LOG("%u of %u streams were wrong (see above)", bad, n);
	free(seen);
	free(mm->rx_fd);
	free(mm->rxs);
	free(mm->txs);
	free(mm);
}

/* 100 streams under one key, all open at once, each with its own data. */
TEST_F_TIMEOUT(mux, same_key_concurrent, 120)
{
	many_streams(_metadata, self->client, self->server, 100, 32 * 1024,
		     true);
}

TEST_F_TIMEOUT(mux, thousand_streams, 300)
{
	struct rlimit rl;

	/* 2 x 1000 stream fds in this process. */
	ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
	if (rl.rlim_cur < 4096) {
		rl.rlim_cur = 4096;
		if (rl.rlim_max < 4096)
			rl.rlim_max = 4096;
		ASSERT_EQ(0, setrlimit(RLIMIT_NOFILE, &rl))
			TH_LOG("raising RLIMIT_NOFILE to 4096 (needs root): %s",
			       strerror(errno));
	}
	many_streams(_metadata, self->client, self->server, 1000, 16 * 1024,
		     false);
}

/* ---- both ends open at once --------------------------------------------- */

struct both {
	struct mux *m;
	pthread_barrier_t *start;
	const char *key;
	uint64_t len;
	uint32_t open_id;
	int open_local;
	uint8_t sent_sha[SHA256_LEN];
	struct recvd got;
	int got_local;
	struct tres r;
};

static void *both_main(void *arg)
{
	struct both *b = arg;
	struct recvd *g = &b->got;
	int fd;

	pthread_barrier_wait(b->start);
	fd = mux_open(b->m, b->key, strlen(b->key), AFMUX_O_CLOEXEC,
		      &b->open_id);
	if (fd < 0) {
		tfail(&b->r, "mux_open(\"%s\") failed: %s", b->key,
		      strerror(errno));
		return NULL;
	}
	if (mux_stream_info(fd, NULL, &b->open_local, NULL))
		tfail(&b->r, "mux_stream_info(opened): %s", strerror(errno));
	/* Less than the window: written before the peer reads any. */
	if (send_payload(fd, stream_seed(b->key, strlen(b->key), b->open_id),
			 b->len, b->sent_sha, NULL))
		tfail(&b->r, "writing \"%s\": %s", b->key, strerror(errno));
	close(fd);

	g->key_len = sizeof(g->key) - 1;
	fd = mux_accept(b->m, g->key, &g->key_len, AFMUX_O_CLOEXEC, &g->id);
	if (fd < 0) {
		tfail(&b->r, "mux_accept() failed: %s", strerror(errno));
		return NULL;
	}
	g->key[g->key_len] = '\0';
	if (mux_stream_info(fd, NULL, &b->got_local, NULL))
		tfail(&b->r, "mux_stream_info(accepted): %s", strerror(errno));
	recv_payload(fd, stream_seed(g->key, g->key_len, g->id), &g->rx);
	close(fd);
	return NULL;
}

TEST_F(mux, both_open_at_once)
{
	struct both a = { .m = self->client, .key = "from client" };
	struct both b = { .m = self->server, .key = "from server" };
	struct both *end[2] = { &a, &b }, *me, *peer;
	pthread_barrier_t start;
	pthread_t t[2];
	int i;

	a.len = b.len = 128 * 1024;
	ASSERT_EQ(0, pthread_barrier_init(&start, NULL, 2));
	a.start = b.start = &start;
	ASSERT_EQ(0, pthread_create(&t[0], NULL, both_main, &a));
	ASSERT_EQ(0, pthread_create(&t[1], NULL, both_main, &b));
	ASSERT_EQ(0, pthread_join(t[0], NULL));
	ASSERT_EQ(0, pthread_join(t[1], NULL));
	pthread_barrier_destroy(&start);
	for (i = 0; i < 2; i++) {
		me = end[i];
		peer = end[!i];
		EXPECT_THREAD_OK(me->key, &me->r);
		if (me->r.failed)
			continue;
		EXPECT_EQ(1U, me->open_id)
			TH_LOG("%s: each end numbers its own streams from 1",
			       me->key);
		EXPECT_EQ(1, me->open_local);
		EXPECT_STREQ(peer->key, me->got.key);
		EXPECT_EQ(1U, me->got.id)
			TH_LOG("%s: the peer's first stream is its number 1",
			       me->key);
		EXPECT_EQ(0, me->got_local);
		check_rx(_metadata, peer->key, &me->got.rx, peer->len,
			 peer->sent_sha);
	}
}

TEST_HARNESS_MAIN

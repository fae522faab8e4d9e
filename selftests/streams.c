// SPDX-License-Identifier: GPL-2.0
/*
 * streams.c - selftests for AF_MUX stream data transfer (the mux
 * fixture of stream_util.h): SHA-256 itself, seed case 0 (the seed API,
 * both ways), seed case 1 (500 MB one way, 2 x 500 MB the other), eight
 * bulk streams at once with few worker runs, 4 KiB requests and replies
 * without them, and flow control: a stream nobody reads stops only its
 * own writer (docs/protocol.md §5).
 * Opening streams is in stream_open.c, half-close, reset and a broken
 * peer in stream_close.c, the socket options, non-blocking I/O, epoll
 * and vectored I/O in stream_io.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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
#include "stream_util.h"

/* ---- SHA-256 itself ---------------------------------------------------- */

TEST(sha256_known_vectors)
{
	static const struct {
		const char *msg, *hex;
	} v[] = {
		{ "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
		{ "", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
		{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	};
	char hex[2 * SHA256_LEN + 1];
	uint8_t d[SHA256_LEN], a[1000];
	struct sha256 c;
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(v); i++) {
		sha256_init(&c);
		sha256_update(&c, v[i].msg, strlen(v[i].msg));
		sha256_final(&c, d);
		EXPECT_STREQ(v[i].hex, sha256_hex(d, hex));
	}
	/* A million 'a', fed in uneven pieces. */
	memset(a, 'a', sizeof(a));
	sha256_init(&c);
	for (i = 0, n = 1; i < 1000000; i += n, n = n % 997 + 1)
		sha256_update(&c, a, i + n > 1000000 ? 1000000 - i : n);
	sha256_final(&c, d);
	EXPECT_STREQ("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
		     sha256_hex(d, hex));
}

/* ---- case 0: the seed API, both ways ----------------------------------- */

TEST_F(mux, case0)
{
	struct afmux_stream_info info;
	socklen_t ilen = sizeof(info);
	uint8_t msg[300], reply[200], buf[1024];
	uint32_t cid, sid, rid, win;
	char key[64];
	int c, s, local;
	struct gen g;

	gen_init(&g, 1);
	gen_fill(&g, msg, sizeof(msg));
	gen_fill(&g, reply, sizeof(reply));

	c = mux_send(self->client, "hello");
	ASSERT_GE(c, 0) TH_LOG("mux_send(\"hello\") failed: %s", strerror(errno));
	EXPECT_TRUE(fcntl(c, F_GETFD) & FD_CLOEXEC)
		TH_LOG("mux_send() should return a close-on-exec fd");
	ASSERT_EQ(0, mux_stream_info(c, &cid, &local, &win))
		TH_LOG("mux_stream_info(opened stream): %s", strerror(errno));
	EXPECT_EQ(1U, cid) TH_LOG("the first stream an end opens is number 1");
	EXPECT_EQ(1, local) TH_LOG("the opener's stream should be local");
	EXPECT_EQ((uint32_t)AFMUX_WINDOW_DEFAULT, win);
	ASSERT_EQ(0, write_all(c, msg, sizeof(msg)))
		TH_LOG("write(%zu bytes) on a new stream: %s", sizeof(msg),
		       strerror(errno));
	ASSERT_EQ(0, close(c));

	s = mux_receive(self->server, key, sizeof(key));
	ASSERT_GE(s, 0) TH_LOG("mux_receive() failed: %s", strerror(errno));
	EXPECT_STREQ("hello", key);
	ASSERT_EQ(0, mux_stream_info(s, &sid, &local, &win))
		TH_LOG("mux_stream_info(accepted stream): %s", strerror(errno));
	EXPECT_EQ(cid, sid)
		TH_LOG("the accepted stream's ID should be the one its opener got");
	EXPECT_EQ(0, local) TH_LOG("an accepted stream is not local");
	EXPECT_EQ((uint32_t)AFMUX_WINDOW_DEFAULT, win);
	memset(&info, 0xa5, sizeof(info));
	ASSERT_EQ(0, getsockopt(s, SOL_AFMUX, AFMUX_STREAM_INFO, &info, &ilen))
		TH_LOG("AFMUX_STREAM_INFO: %s", strerror(errno));
	EXPECT_EQ(sid, info.stream_id);
	EXPECT_EQ(0U, info.flags & AFMUX_STREAM_F_LOCAL);
	EXPECT_EQ(5U, info.key_len)
		TH_LOG("mux_send's key is the string without its NUL");
	EXPECT_EQ(0, memcmp(info.key, "hello", 5));
	ASSERT_EQ((ssize_t)sizeof(msg), read_full(s, buf, sizeof(buf)))
		TH_LOG("expected %zu bytes then EOF", sizeof(msg));
	EXPECT_EQ(0, memcmp(buf, msg, sizeof(msg)));
	EXPECT_EQ(0, read(s, buf, sizeof(buf))) TH_LOG("EOF must stay EOF");
	EXPECT_EQ(0, close(s));

	c = mux_open(self->server, "reply", 5, 0, &rid);
	ASSERT_GE(c, 0) TH_LOG("mux_open(\"reply\") failed: %s", strerror(errno));
	EXPECT_EQ(1U, rid) TH_LOG("each end numbers its own streams from 1");
	ASSERT_EQ(0, write_all(c, reply, sizeof(reply)));
	ASSERT_EQ(0, close(c));

	s = mux_receive(self->client, key, sizeof(key));
	ASSERT_GE(s, 0) TH_LOG("mux_receive() failed: %s", strerror(errno));
	EXPECT_STREQ("reply", key);
	ASSERT_EQ(0, mux_stream_info(s, &sid, &local, NULL));
	EXPECT_EQ(rid, sid);
	EXPECT_EQ(0, local);
	ASSERT_EQ((ssize_t)sizeof(reply), read_full(s, buf, sizeof(buf)))
		TH_LOG("expected %zu bytes then EOF", sizeof(reply));
	EXPECT_EQ(0, memcmp(buf, reply, sizeof(reply)));
	EXPECT_EQ(0, close(s));
}

/* ---- big transfers ------------------------------------------------------ */

#define MAX_KEYS 16

/* Opens one stream per key on @m, one after another, each carrying @len. */
struct sender {
	struct mux *m;
	const char *keys[MAX_KEYS];
	int nkeys;
	uint64_t len;
	uint32_t id[MAX_KEYS];
	uint8_t sha[MAX_KEYS][SHA256_LEN];
	struct tres r;
};

/* Where @key is in @keys (@n of them); @n if it is not there. */
static int key_index(const char *const *keys, int n, const char *key)
{
	int i;

	for (i = 0; i < n && strcmp(keys[i], key); i++)
		;
	return i;
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	uint64_t sent;
	const char *key;
	int i, fd;

	for (i = 0; i < s->nkeys; i++) {
		key = s->keys[i];
		fd = mux_open(s->m, key, strlen(key), AFMUX_O_CLOEXEC, &s->id[i]);
		if (fd < 0) {
			tfail(&s->r, "mux_open(\"%s\") failed: %s", key,
			      strerror(errno));
			return NULL;
		}
		if (send_payload(fd, stream_seed(key, strlen(key), s->id[i]),
				 s->len, s->sha[i], &sent)) {
			tfail(&s->r, "stream \"%s\": write failed after %llu of %llu bytes: %s",
			      key, (unsigned long long)sent,
			      (unsigned long long)s->len, strerror(errno));
			close(fd);
			return NULL;
		}
		if (close(fd)) {
			tfail(&s->r, "close(stream \"%s\"): %s", key,
			      strerror(errno));
			return NULL;
		}
	}
	return NULL;
}

/*
 * Sends @len bytes on each of @nkeys streams from @from (in a thread,
 * one stream after another) while this thread accepts and reads them on
 * @to; checks every stream's key, ID, length and digest.
 */
static void transfer(struct __test_metadata *_metadata, const char *what,
		     struct mux *from, struct mux *to,
		     const char *const *keys, int nkeys, uint64_t len)
{
	struct sender *s = calloc(1, sizeof(*s));
	struct recvd *rv = calloc((size_t)nkeys, sizeof(*rv));
	char label[128];
	int i, j, got, err = 0;
	pthread_t t;

	ASSERT_TRUE(s && rv && nkeys <= MAX_KEYS);
	s->m = from;
	s->nkeys = nkeys;
	s->len = len;
	for (i = 0; i < nkeys; i++)
		s->keys[i] = keys[i];
	s->r.wake = pthread_self();
	s->r.can_wake = true;
	ASSERT_EQ(0, pthread_create(&t, NULL, sender_main, s));
	for (got = 0; got < nkeys && !peer_failed; got++) {
		if (recv_one(to, &rv[got])) {
			err = errno;
			break;
		}
	}
	/* Not joined if accept failed: the sender may be stuck. */
	ASSERT_EQ(nkeys, got)
		TH_LOG("%s: received %d of %d streams, then %s (sender: %s)",
		       what, got, nkeys,
		       err ? strerror(err) : "gave up",
		       s->r.failed ? s->r.msg : "no error so far");
	ASSERT_EQ(0, pthread_join(t, NULL));
	EXPECT_THREAD_OK(what, &s->r);
	for (i = 0; i < nkeys; i++) {
		j = key_index(keys, nkeys, rv[i].key);
		snprintf(label, sizeof(label), "%s, stream \"%s\"", what,
			 rv[i].key);
		EXPECT_LT(j, nkeys)
			TH_LOG("%s: accepted a stream with unexpected key", label);
		if (j == nkeys)
			continue;
		EXPECT_EQ(s->id[j], rv[i].id)
			TH_LOG("%s: accepted with ID %u, opened as %u", label,
			       rv[i].id, s->id[j]);
		check_rx(_metadata, label, &rv[i].rx, len, s->sha[j]);
	}
	free(rv);
	free(s);
}

/*
 * 500 MB one way, then 2 x 500 MB the other way; 50 MB on the debug
 * kernel (KASAN under TCG), as ktls and pool do (case1_len()).
 */
TEST_F_TIMEOUT(mux, case1, 600)
{
	static const char *const c2s[] = { "case1: client to server" };
	static const char *const s2c[] = { "case1: server to client #1",
					   "case1: server to client #2" };
	uint64_t len = case1_len();
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	transfer(_metadata, "client to server", self->client, self->server,
		 c2s, 1, len);
	transfer(_metadata, "server to client", self->server, self->client,
		 s2c, 2, len);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* TH_LOG: stderr, which the forked test's _exit() does not lose. */
	TH_LOG("case1: 3 x %llu bytes verified in %.1f s",
	       (unsigned long long)len, t1.tv_sec - t0.tv_sec +
	       (t1.tv_nsec - t0.tv_nsec) / 1e9);
}

/* ---- worker wake-ups ---------------------------------------------------- */

#define PAR_STREAMS	8

struct par_rx {
	struct mux *m;
	struct recvd r;
};

static void *par_reader(void *arg)
{
	struct par_rx *p = arg;

	if (recv_one(p->m, &p->r))
		p->r.rx.err = errno ? errno : EIO;
	return NULL;
}

/*
 * PAR_STREAMS bulk streams at once, a writer and a reader thread each,
 * from @from to @to; checks each stream's length and digest.
 */
static void parallel_bulk(struct __test_metadata *_metadata,
			  struct mux *from, struct mux *to, uint64_t len)
{
	static const char *const keys[PAR_STREAMS] = {
		"par0", "par1", "par2", "par3", "par4", "par5", "par6", "par7" };
	struct sender *s = calloc(PAR_STREAMS, sizeof(*s));
	struct par_rx *rv = calloc(PAR_STREAMS, sizeof(*rv));
	pthread_t wt[PAR_STREAMS], rt[PAR_STREAMS];
	char label[64];
	int i, j;

	ASSERT_TRUE(s && rv);
	for (i = 0; i < PAR_STREAMS; i++) {
		rv[i].m = to;
		ASSERT_EQ(0, pthread_create(&rt[i], NULL, par_reader, &rv[i]));
	}
	for (i = 0; i < PAR_STREAMS; i++) {
		s[i].m = from;
		s[i].nkeys = 1;
		s[i].keys[0] = keys[i];
		s[i].len = len;
		ASSERT_EQ(0, pthread_create(&wt[i], NULL, sender_main, &s[i]));
	}
	for (i = 0; i < PAR_STREAMS; i++) {
		ASSERT_EQ(0, pthread_join(wt[i], NULL));
		EXPECT_THREAD_OK(keys[i], &s[i].r);
	}
	for (i = 0; i < PAR_STREAMS; i++)
		ASSERT_EQ(0, pthread_join(rt[i], NULL));
	for (i = 0; i < PAR_STREAMS; i++) {
		j = key_index(keys, PAR_STREAMS, rv[i].r.key);
		EXPECT_LT(j, PAR_STREAMS)
			TH_LOG("accepted a stream with key \"%s\"", rv[i].r.key);
		if (j == PAR_STREAMS)
			continue;
		snprintf(label, sizeof(label), "stream \"%s\"", keys[j]);
		check_rx(_metadata, label, &rv[i].r.rx, len, s[j].sha[0]);
	}
	free(rv);
	free(s);
}

/*
 * Bulk streams are read in the softirq or in the task that holds the TCP
 * socket (the pump's), not by waking rx_work for each burst: rx_work
 * reads only data that arrived while some other task held TCP, which
 * here is only the attach (one run per end).  Before the owner-task read
 * (73e4302), every backlog the pump processed - DATA that came while it
 * sent WINDOW frames - woke rx_work: 12 and 38 runs in this test on 6.1,
 * 43 and 31 on 6.12.  tx_work's runs are logged, not judged: each
 * writer's kick on a connection with several streams is one
 * (docs/design.md, "Sending: the pump").
 */
#define RX_WORKER_RUNS_MAX	3

TEST_F_TIMEOUT(mux, bulk_few_worker_runs, 300)
{
	struct afmux_stats cst, sst;
	uint64_t len = 8ULL << 20;

	parallel_bulk(_metadata, self->client, self->server, len);
	ASSERT_EQ(0, mux_stats(self->client, &cst));
	ASSERT_EQ(0, mux_stats(self->server, &sst));
	TH_LOG("%d x %llu MiB: client tx_work %llu rx_work %llu, server tx_work %llu rx_work %llu",
	       PAR_STREAMS, (unsigned long long)(len >> 20),
	       (unsigned long long)cst.tx_worker_runs,
	       (unsigned long long)cst.rx_worker_runs,
	       (unsigned long long)sst.tx_worker_runs,
	       (unsigned long long)sst.rx_worker_runs);
	EXPECT_GE(RX_WORKER_RUNS_MAX, cst.rx_worker_runs);
	EXPECT_GE(RX_WORKER_RUNS_MAX, sst.rx_worker_runs);
}

/*
 * A 4 KiB request and its 4 KiB reply, on connections with more than one
 * stream, are sent by their writers, not handed to tx_work.  While a
 * writer sent only 4096 bytes of frames itself, every one of them was
 * (a 4 KiB DATA frame is 4108 bytes): RR_ROUNDS runs at each end here.
 */
#define RR_ROUNDS	200
#define RR_SIZE		4096

TEST_F(mux, requests_of_4k_skip_the_worker)
{
	struct afmux_stats c0, s0, c1, s1;
	uint8_t req[RR_SIZE], got[RR_SIZE];
	int idle, idle_peer, c, s, i;
	char key[16];
	struct gen g;

	/* Two streams on each end, so the writers' inline budget applies. */
	idle = mux_send(self->client, "idle");
	ASSERT_GE(idle, 0) TH_LOG("mux_send: %s", strerror(errno));
	ASSERT_EQ(0, write_all(idle, "x", 1));
	idle_peer = mux_receive(self->server, key, sizeof(key));
	ASSERT_GE(idle_peer, 0) TH_LOG("mux_receive: %s", strerror(errno));
	ASSERT_EQ(1, read_full(idle_peer, got, 1));
	c = mux_send(self->client, "rr");
	ASSERT_GE(c, 0) TH_LOG("mux_send: %s", strerror(errno));
	ASSERT_EQ(0, write_all(c, "y", 1));
	s = mux_receive(self->server, key, sizeof(key));
	ASSERT_GE(s, 0) TH_LOG("mux_receive: %s", strerror(errno));
	EXPECT_STREQ("rr", key);
	ASSERT_EQ(1, read_full(s, got, 1));
	ASSERT_EQ(0, mux_stats(self->client, &c0));
	ASSERT_EQ(0, mux_stats(self->server, &s0));
	gen_init(&g, 21);
	for (i = 0; i < RR_ROUNDS; i++) {
		gen_fill(&g, req, sizeof(req));
		ASSERT_EQ(0, write_all(c, req, RR_SIZE));
		ASSERT_EQ(RR_SIZE, read_full(s, got, RR_SIZE));
		ASSERT_EQ(0, memcmp(req, got, RR_SIZE)) TH_LOG("request %d", i);
		ASSERT_EQ(0, write_all(s, got, RR_SIZE));
		ASSERT_EQ(RR_SIZE, read_full(c, got, RR_SIZE));
		ASSERT_EQ(0, memcmp(req, got, RR_SIZE)) TH_LOG("reply %d", i);
	}
	ASSERT_EQ(0, mux_stats(self->client, &c1));
	ASSERT_EQ(0, mux_stats(self->server, &s1));
	TH_LOG("%d round trips of %d bytes: tx_work ran %llu times at the client, %llu at the server",
	       RR_ROUNDS, RR_SIZE,
	       (unsigned long long)(c1.tx_worker_runs - c0.tx_worker_runs),
	       (unsigned long long)(s1.tx_worker_runs - s0.tx_worker_runs));
	EXPECT_GE(RR_ROUNDS / 10, c1.tx_worker_runs - c0.tx_worker_runs);
	EXPECT_GE(RR_ROUNDS / 10, s1.tx_worker_runs - s0.tx_worker_runs);
	close(c);
	close(s);
	close(idle);
	close(idle_peer);
}

/* ---- flow control ---------------------------------------------------------- */

#define BULK_STREAMS	10
#define BULK_LEN	(4ULL << 20)

/*
 * A stream whose reader never reads holds at most its window and stops
 * only its own writer: 10 other streams move 4 MiB each meanwhile.
 */
TEST_F_TIMEOUT(mux, unread_stream_does_not_block, 300)
{
	static char keys[BULK_STREAMS][16];
	struct timeval stall = { .tv_sec = 60 };
	uint64_t want = 4ULL * AFMUX_WINDOW_DEFAULT, written = 0;
	struct sender *snd = calloc(1, sizeof(*snd));
	struct recvd *rv = calloc(BULK_STREAMS + 1, sizeof(*rv)), *r;
	uint8_t *buf = malloc(CHUNK);
	struct afmux_stats st;
	int i, fd, s1, held = -1, done = 0, rev;
	char label[64];
	pthread_t t;
	ssize_t n;

	ASSERT_TRUE(snd && buf && rv);
	memset(buf, 0x55, CHUNK);
	s1 = mux_open(self->client, "unread", 6, AFMUX_O_NONBLOCK, NULL);
	ASSERT_GE(s1, 0) TH_LOG("mux_open(O_NONBLOCK): %s", strerror(errno));
	while (written < want) {
		n = write(s1, buf, want - written < CHUNK ? want - written : CHUNK);
		if (n > 0) {
			written += (uint64_t)n;
			continue;
		}
		ASSERT_EQ(-1, n);
		ASSERT_EQ(EAGAIN, errno)
			TH_LOG("non-blocking write: expected data or EAGAIN, got %s",
			       strerror(errno));
		if (written >= AFMUX_WINDOW_DEFAULT)
			break;
		/* Credit left: the stream must become writable again. */
		ASSERT_TRUE(poll1(s1, POLLOUT, WAIT_MS) & POLLOUT)
			TH_LOG("EAGAIN after %llu bytes, below the peer's window (%d), and no POLLOUT within %d ms",
			       (unsigned long long)written, AFMUX_WINDOW_DEFAULT,
			       WAIT_MS);
	}
	EXPECT_GE(written, (uint64_t)AFMUX_WINDOW_DEFAULT)
		TH_LOG("the peer's whole window should be writable");
	EXPECT_LT(written, want)
		TH_LOG("wrote all of 4x the window (%llu bytes) to a stream nobody reads; expected EAGAIN once the credit is spent",
		       (unsigned long long)want);
	rev = poll1(s1, POLLOUT, 0);
	EXPECT_EQ(0, rev & POLLOUT)
		TH_LOG("revents 0x%x: no credit left, expected no POLLOUT", rev);

	/* Meanwhile: 10 streams, one after another, 4 MiB each. */
	snd->m = self->client;
	snd->nkeys = BULK_STREAMS;
	snd->len = BULK_LEN;
	for (i = 0; i < BULK_STREAMS; i++) {
		snprintf(keys[i], sizeof(keys[i]), "bulk%d", i);
		snd->keys[i] = keys[i];
	}
	snd->r.wake = pthread_self();
	snd->r.can_wake = true;
	ASSERT_EQ(0, pthread_create(&t, NULL, sender_main, snd));
	while ((done < BULK_STREAMS || held < 0) && !peer_failed) {
		r = &rv[done];	/* rv[BULK_STREAMS]: room for "unread" */
		r->key_len = sizeof(r->key) - 1;
		fd = mux_accept(self->server, r->key, &r->key_len, 0, &r->id);
		ASSERT_GE(fd, 0)
			TH_LOG("accept failed after %d bulk streams: %s (sender: %s)",
			       done, strerror(errno),
			       snd->r.failed ? snd->r.msg : "no error so far");
		r->key[r->key_len] = '\0';
		if (!strcmp(r->key, "unread")) {
			EXPECT_EQ(-1, held) TH_LOG("\"unread\" accepted twice");
			held = fd;	/* never read */
			continue;
		}
		ASSERT_LT(done, BULK_STREAMS)
			TH_LOG("unexpected stream \"%s\"", r->key);
		/* A stall behind the unread stream fails here, not by timeout. */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &stall, sizeof(stall));
		recv_payload(fd, stream_seed(r->key, r->key_len, r->id), &r->rx);
		close(fd);
		done++;
	}
	ASSERT_EQ(0, pthread_join(t, NULL));
	ASSERT_EQ(0, snd->r.failed) TH_LOG("bulk sender: %s", snd->r.msg);
	for (i = 0; i < BULK_STREAMS; i++) {
		r = &rv[i];
		snprintf(label, sizeof(label), "stream \"%s\"", r->key);
		EXPECT_STREQ(keys[i], r->key)
			TH_LOG("the sender opened the bulk streams in order, one at a time");
		if (strcmp(keys[i], r->key))
			continue;
		EXPECT_EQ(snd->id[i], r->id);
		check_rx(_metadata, label, &r->rx, BULK_LEN, snd->sha[i]);
	}

	rev = poll1(s1, POLLOUT, 0);
	EXPECT_EQ(0, rev & POLLOUT)
		TH_LOG("revents 0x%x: the unread stream got credit it should not have",
		       rev);
	EXPECT_EQ(-1, write(s1, buf, 1));
	EXPECT_EQ(EAGAIN, errno)
		TH_LOG("write on the unread stream: expected EAGAIN, got %s",
		       strerror(errno));
	ASSERT_EQ(0, mux_stats(self->server, &st))
		TH_LOG("AFMUX_STATS: %s", strerror(errno));
	EXPECT_LE(st.bytes_rx, BULK_STREAMS * BULK_LEN + AFMUX_WINDOW_DEFAULT)
		TH_LOG("the receiver got %llu payload bytes; the unread stream may add at most its window (%d) to the %llu of the bulk streams",
		       (unsigned long long)st.bytes_rx, AFMUX_WINDOW_DEFAULT,
		       BULK_STREAMS * BULK_LEN);
	close(held);
	close(s1);
	free(rv);
	free(buf);
	free(snd);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0
/*
 * ktls.c - selftests for a mux over kTLS (afmux(7), "Over TLS"):
 * - every TLS version and cipher afmux takes carries streams both ways
 *   intact (SHA-256), also with a user's TCP_NOTSENT_LOWAT of 16384 and
 *   on a slow link (where the mux's own mark falls to 16384), and so do
 *   64 streams at once, sendfile/splice and seed case 1 (500 MB one way,
 *   2 x 500 MB the other);
 * - what ATTACH refuses (a direction without keys, a cipher it does not
 *   take) and what the TCP fd refuses after (SOL_TLS, read, write);
 * - a relay in the middle never sees the streams' plaintext (and does
 *   see it over plain TCP, so the scan works); a flipped ciphertext
 *   byte ends the receiving mux with EBADMSG and every stream with an
 *   error; a TCP reset mid-transfer ends both with an error;
 * - records that are not data, from a raw kTLS peer: a KeyUpdate
 *   (EKEYEXPIRED), an alert (ECONNABORTED), a session ticket (skipped),
 *   close_notify (the end of the peer's bytes), and the close_notify a
 *   mux sends before its FIN.
 * Keys are fixed bytes (ktls_util.h): no handshake is needed here.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <time.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"
#include "sha256.h"
#include "ktls_util.h"
#include "ktls_flow.h"
#include "ktls_relay.h"
#include "proc_util.h"

#define WAIT_MS		20000	/* for an event that must come */
#define STREAM_R	0x80000000U	/* a stream the receiver opened */

static const struct ktls_suite tls13_gcm128 = {
	"TLS 1.3 AES-GCM-128", TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128
};
static const struct ktls_suite tls13_chacha20 = {
	"TLS 1.3 ChaCha20-Poly1305", TLS_1_3_VERSION,
	TLS_CIPHER_CHACHA20_POLY1305
};

/* ---- every suite carries a stream both ways ------------------------- */

FIXTURE(suite) {
	struct mux *a, *b;
};

FIXTURE_VARIANT(suite) {
	struct ktls_suite st;
	const char *proc;	/* its "tls" in /proc/net/afmux */
};

FIXTURE_VARIANT_ADD(suite, tls12_gcm128) {
	.st = { "TLS 1.2 AES-GCM-128", TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_128 },
	.proc = "1.2:aes-gcm-128",
};

FIXTURE_VARIANT_ADD(suite, tls12_gcm256) {
	.st = { "TLS 1.2 AES-GCM-256", TLS_1_2_VERSION, TLS_CIPHER_AES_GCM_256 },
	.proc = "1.2:aes-gcm-256",
};

FIXTURE_VARIANT_ADD(suite, tls12_chacha20) {
	.st = { "TLS 1.2 ChaCha20-Poly1305", TLS_1_2_VERSION,
		TLS_CIPHER_CHACHA20_POLY1305 },
	.proc = "1.2:chacha20-poly1305",
};

FIXTURE_VARIANT_ADD(suite, tls13_gcm128) {
	.st = { "TLS 1.3 AES-GCM-128", TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128 },
	.proc = "1.3:aes-gcm-128",
};

FIXTURE_VARIANT_ADD(suite, tls13_gcm256) {
	.st = { "TLS 1.3 AES-GCM-256", TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_256 },
	.proc = "1.3:aes-gcm-256",
};

FIXTURE_VARIANT_ADD(suite, tls13_chacha20) {
	.st = { "TLS 1.3 ChaCha20-Poly1305", TLS_1_3_VERSION,
		TLS_CIPHER_CHACHA20_POLY1305 },
	.proc = "1.3:chacha20-poly1305",
};

FIXTURE_SETUP(suite)
{
	ASSERT_EQ(0, muxes(&variant->st, &self->a, &self->b))
		TH_LOG("%s: %s", variant->st.name, strerror(errno));
}

FIXTURE_TEARDOWN(suite)
{
	if (self->a)
		mux_close(self->a);
	if (self->b)
		mux_close(self->b);
}

/* 4 MiB each way over one stream at once, intact. */
TEST_F_TIMEOUT(suite, both_ways, 120)
{
	both_ways_flows(_metadata, self->a, self->b, 4 << 20, 1);
}

/*
 * A user's small TCP_NOTSENT_LOWAT (the mux keeps it), near the size of
 * kTLS's records: 4 MiB each way still goes, intact.
 */
TEST_F_TIMEOUT(suite, both_ways_small_notsent_lowat, 120)
{
	struct mux *a, *b;

	ASSERT_EQ(0, muxes_lowat(&variant->st, &a, &b, 16384))
		TH_LOG("%s", strerror(errno));
	both_ways_flows(_metadata, a, b, 4 << 20, 3);
	mux_close(a);
	mux_close(b);
}

/*
 * Over kTLS too the mux follows TCP's pacing rate with TCP_NOTSENT_LOWAT:
 * on a slow link it falls to 16384, below kTLS's 16 KiB records, and a
 * stream still carries 512 KiB each way at once, intact.
 */
TEST(slow_link_both_ways)
{
	struct mux *a = NULL, *b = NULL;
	int c = -1, s = -1, lowat;
	socklen_t len = sizeof(lowat);

	signal(SIGPIPE, SIG_IGN);
	ASSERT_EQ(netns_slow_link(), 0)
		TH_LOG("netns with netem on lo (needs ip, tc, sch_netem)");
	ASSERT_EQ(0, tcp_pair(&c, &s));
	ASSERT_EQ(0, ktls_pair_keys(c, s, &tls13_gcm128));
	a = mux_new(c);
	b = mux_new(s);
	ASSERT_TRUE(a && b) TH_LOG("attach: %s", strerror(errno));
	both_ways_flows(_metadata, a, b, 512 << 10, 5);
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, getsockopt(i ? s : c, IPPROTO_TCP,
					TCP_NOTSENT_LOWAT, &lowat, &len));
		EXPECT_EQ(16384, lowat) TH_LOG("end %d", i);
	}
	mux_close(a);
	mux_close(b);
	close(c);
	close(s);
}

/* /proc/net/afmux names each end's TLS version and cipher. */
TEST_F(suite, proc_names_the_suite)
{
	struct mux *m[2] = { self->a, self->b };
	char got[32];

	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, proc_conn_field(m[i], "tls", got, sizeof(got)));
		EXPECT_STREQ(variant->proc, got);
	}
}

/*
 * The TCP fd refuses after ATTACH: SOL_TLS (new keys behind the mux's
 * back), reads and writes, a second attach; TCP_ULP still reads "tls".
 */
TEST_F(suite, tcp_fd_refuses)
{
	struct tls12_crypto_info_aes_gcm_128 ci = { 0 };
	char ulp[16] = "", b;
	socklen_t len = sizeof(ulp);
	int c, s, mux;
	struct mux *m;

	ASSERT_EQ(0, tcp_pair(&c, &s));
	ASSERT_EQ(0, ktls_pair_keys(c, s, &variant->st));
	m = mux_new(c);
	ASSERT_NE(NULL, m) TH_LOG("attach: %s", strerror(errno));
	ci.info.version = variant->st.version;
	ci.info.cipher_type = TLS_CIPHER_AES_GCM_128;
	EXPECT_EQ(-1, setsockopt(c, SOL_TLS, TLS_TX, &ci, sizeof(ci)));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, setsockopt(c, SOL_TLS, TLS_TX_ZEROCOPY_RO, &(int){ 1 },
				 sizeof(int)));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, read(c, &b, 1));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, write(c, "x", 1));
	EXPECT_EQ(EBUSY, errno);
	EXPECT_EQ(-1, shutdown(c, SHUT_WR));
	EXPECT_EQ(EBUSY, errno);
	ASSERT_EQ(0, getsockopt(c, IPPROTO_TCP, TCP_ULP, ulp, &len));
	EXPECT_STREQ("tls", ulp);
	mux = afmux_socket(SOCK_CLOEXEC);
	ASSERT_GE(mux, 0);
	EXPECT_EQ(-1, ioctl(mux, AFMUX_IOC_ATTACH,
			    &(struct afmux_attach){ .fd = c }));
	EXPECT_EQ(EBUSY, errno);
	close(mux);
	mux_close(m);
	close(c);
	close(s);
}

/* ---- what ATTACH refuses ---------------------------------------------- */

static int attach_errno(int fd)
{
	int mux = afmux_socket(SOCK_CLOEXEC), err = 0;

	if (mux < 0)
		return -1;
	if (ioctl(mux, AFMUX_IOC_ATTACH, &(struct afmux_attach){ .fd = fd }))
		err = errno;
	close(mux);
	return err;
}

/* kTLS with no keys, or keys for one direction only: ENOKEY. */
TEST(refuse_missing_keys)
{
	int c, s;

	ASSERT_EQ(0, tcp_pair(&c, &s));
	ASSERT_EQ(0, ktls_ulp(c));
	EXPECT_EQ(ENOKEY, attach_errno(c)) TH_LOG("no keys");
	ASSERT_EQ(0, ktls_key(c, TLS_TX, &tls13_gcm128, 1));
	EXPECT_EQ(ENOKEY, attach_errno(c)) TH_LOG("TX keys only");
	close(c);
	close(s);

	ASSERT_EQ(0, tcp_pair(&c, &s));
	ASSERT_EQ(0, ktls_ulp(c));
	ASSERT_EQ(0, ktls_key(c, TLS_RX, &tls13_gcm128, 1));
	EXPECT_EQ(ENOKEY, attach_errno(c)) TH_LOG("RX keys only");
	/* Refused, it is still the user's: keys for TX, then it attaches. */
	ASSERT_EQ(0, ktls_key(c, TLS_TX, &tls13_gcm128, 2));
	EXPECT_EQ(0, attach_errno(c));
	close(c);
	close(s);
}

/*
 * A cipher afmux does not take (AES-CCM): EOPNOTSUPP.  Where the kernel
 * itself has no CCM (the debug kernel), there is no such socket to
 * refuse: the test says so.
 */
TEST(refuse_ccm)
{
	static const struct ktls_suite ccm = {
		"TLS 1.2 AES-CCM-128", TLS_1_2_VERSION, TLS_CIPHER_AES_CCM_128
	};
	int c, s;

	ASSERT_EQ(0, tcp_pair(&c, &s));
	ASSERT_EQ(0, ktls_ulp(c));
	if (ktls_key(c, TLS_TX, &ccm, 1) || ktls_key(c, TLS_RX, &ccm, 2)) {
		TH_LOG("kTLS here takes no AES-CCM keys (%s): nothing to refuse",
		       strerror(errno));
	} else {
		EXPECT_EQ(EOPNOTSUPP, attach_errno(c));
	}
	close(c);
	close(s);
}

/* ---- 64 streams, sendfile in and splice out --------------------------- */

/* No state: only the longer timeout TEST_F_TIMEOUT gives. */
FIXTURE(slow) {
	int unused;
};

FIXTURE_SETUP(slow)
{
	signal(SIGPIPE, SIG_IGN);	/* writes to a stream that ended */
}

FIXTURE_TEARDOWN(slow)
{
}

/*
 * 256 threads.  On the debug kernel with kmemleak this failed twice in
 * 16 runs (how was not kept); it logs its time (26 s there when it
 * passes, so the timeout is not the likely cause).
 */
TEST_F_TIMEOUT(slow, streams_64, 300)
{
	enum { N = 64 };
	struct flow w[2 * N], r[2 * N];
	int fa[N], fb[N], i;
	struct timespec t0, t1;
	struct mux *a, *b;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, muxes(&tls13_gcm128, &a, &b));
	open_streams(_metadata, a, b, N, fa, fb);
	memset(w, 0, sizeof(w));
	memset(r, 0, sizeof(r));
	for (i = 0; i < N; i++) {
		w[i] = (struct flow){ .fd = fa[i], .len = 256 << 10,
				      .seed = 100 + i };
		r[i].fd = fb[i];
		w[N + i] = (struct flow){ .fd = fb[i], .len = 256 << 10,
					  .seed = 200 + i };
		r[N + i].fd = fa[i];
	}
	run_flows(_metadata, w, r, 2 * N);
	for (i = 0; i < N; i++) {
		close(fa[i]);
		close(fb[i]);
	}
	mux_close(a);
	mux_close(b);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("64 streams x 2 x 256 KiB in %.1f s", t1.tv_sec - t0.tv_sec +
	       (t1.tv_nsec - t0.tv_nsec) / 1e9);
}

/*
 * Seed case 1 over kTLS: 500 MB one way over one stream, then 2 x 500 MB
 * the other way at once, each checked by SHA-256.  On the debug kernel
 * (KASAN makes its kTLS some 4 times slower) 50 MB each, so that
 * "make check" keeps its time; the stock kernels move the full size.
 * ChaCha20-Poly1305: the test VMs have no AES-NI module loaded, and the
 * kernel's generic ChaCha20 is the faster of the two under TCG.
 */
TEST_F_TIMEOUT(slow, case1, 900)
{
	size_t len = case1_len();
	struct timespec t0, t1;
	struct mux *a, *b;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ASSERT_EQ(0, muxes(&tls13_chacha20, &a, &b));
	flow_case1(_metadata, a, b, len, open_streams);
	mux_close(a);
	mux_close(b);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TH_LOG("case1 over kTLS: 3 x %zu bytes verified in %.1f s", len,
	       t1.tv_sec - t0.tv_sec + (t1.tv_nsec - t0.tv_nsec) / 1e9);
}

TEST_F_TIMEOUT(slow, sendfile_in_splice_out, 120)
{
	struct flow w = { .len = 8 << 20, .seed = 7, .by_sendfile = true };
	struct flow r = { .by_splice = true };
	struct mux *a, *b;
	int fa, fb;

	ASSERT_EQ(0, muxes(&tls13_gcm128, &a, &b));
	open_streams(_metadata, a, b, 1, &fa, &fb);
	w.fd = fa;
	r.fd = fb;
	run_flows(_metadata, &w, &r, 1);
	close(fa);
	close(fb);
	mux_close(a);
	mux_close(b);
}

/*
 * Half-close one way, the other goes on; then a close with data unread
 * resets the stream (RESET CANCEL): the peer's writes fail with EPIPE.
 */
TEST(half_close_then_reset)
{
	struct mux *a, *b;
	char buf[16];
	int fa, fb, i;
	ssize_t n = 0;

	ASSERT_EQ(0, muxes(&tls13_gcm128, &a, &b));
	open_streams(_metadata, a, b, 1, &fa, &fb);
	ASSERT_EQ(0, shutdown(fa, SHUT_WR));
	EXPECT_EQ(0, read(fb, buf, sizeof(buf)));	/* EOF */
	ASSERT_EQ(0, write_all(fb, "still open", 10));
	EXPECT_EQ(10, read_full(fa, buf, 10));
	EXPECT_EQ(0, memcmp(buf, "still open", 10));
	ASSERT_EQ(0, write_all(fb, "unread", 6));
	/* fa has it once poll says so; then the close resets. */
	ASSERT_EQ(1, poll(&(struct pollfd){ .fd = fa, .events = POLLIN }, 1,
			  WAIT_MS));
	close(fa);
	for (i = 0; i < WAIT_MS / 50; i++) {
		n = send(fb, "x", 1, MSG_NOSIGNAL);
		if (n < 0)
			break;
		usleep(50 * 1000);
	}
	EXPECT_EQ(-1, n);
	EXPECT_EQ(EPIPE, errno);
	close(fb);
	mux_close(a);
	mux_close(b);
}

/* ---- a relay in the middle (ktls_relay.h) ----------------------------- */

#define PATTERN "afmux-plaintext-PATTERN!"

/* Send @PATTERN over a stream keyed "secret-key-XYZ"; what saw the relay? */
static void pattern_run(struct __test_metadata *_metadata,
			const struct ktls_suite *st, size_t *seen_pat,
			size_t *seen_key)
{
	struct relay r = { .pat = PATTERN };
	char buf[64 * sizeof(PATTERN)], key[64];
	struct mux *a, *b;
	size_t i;
	int fa, fb;

	for (i = 0; i + sizeof(PATTERN) - 1 <= sizeof(buf); i += sizeof(PATTERN) - 1)
		memcpy(buf + i, PATTERN, sizeof(PATTERN) - 1);
	ASSERT_EQ(0, relay_muxes(st, &r, &a, &b));
	fa = mux_open(a, "secret-key-XYZ", 14, 0, NULL);
	ASSERT_GE(fa, 0);
	fb = mux_receive(b, key, sizeof(key));
	ASSERT_GE(fb, 0);
	EXPECT_STREQ("secret-key-XYZ", key);
	for (i = 0; i < 64; i++)
		ASSERT_EQ(0, write_all(fa, buf, sizeof(buf)));
	close(fa);
	for (i = 0; i < 64; i++) {
		char got[sizeof(buf)];

		ASSERT_EQ((ssize_t)sizeof(buf), read_full(fb, got, sizeof(got)));
		ASSERT_EQ(0, memcmp(got, buf, sizeof(buf)));
	}
	close(fb);
	mux_close(a);
	mux_close(b);
	relay_done(&r);
	*seen_pat = r.seen;
	/* The key went by once, in the OPEN frame. */
	r = (struct relay){ .pat = "secret-key-XYZ" };
	ASSERT_EQ(0, relay_muxes(st, &r, &a, &b));
	fa = mux_open(a, "secret-key-XYZ", 14, 0, NULL);
	ASSERT_GE(fa, 0);
	fb = mux_receive(b, key, sizeof(key));
	ASSERT_GE(fb, 0);
	close(fa);
	close(fb);
	mux_close(a);
	mux_close(b);
	relay_done(&r);
	*seen_key = r.seen;
}

TEST_F_TIMEOUT(slow, plaintext_never_on_the_wire, 120)
{
	size_t pat, key;

	/* Over plain TCP the relay sees both: the scan works. */
	pattern_run(_metadata, NULL, &pat, &key);
	EXPECT_LT(0, pat);
	EXPECT_LT(0, key);
	pattern_run(_metadata, &tls13_gcm128, &pat, &key);
	EXPECT_EQ(0, pat);
	EXPECT_EQ(0, key);
}

/* Wait until the mux's connection has ended; its SO_ERROR. */
static int mux_end_errno(struct mux *m)
{
	struct pollfd p = { .fd = mux_fd(m), .events = POLLIN };
	socklen_t len = sizeof(int);
	int err = -1;

	if (poll(&p, 1, WAIT_MS) != 1 || !(p.revents & (POLLHUP | POLLERR)))
		return -1;
	if (getsockopt(mux_fd(m), SOL_SOCKET, SO_ERROR, &err, &len))
		return -1;
	return err;
}

/* Read @fd until it fails; the errno (0 if it ended cleanly). */
static int drain_errno(int fd)
{
	char buf[CHUNK];
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	return n < 0 ? errno : 0;
}

/*
 * A byte flipped on its way from A to B: B's mux ends with EBADMSG and
 * all of its streams with ECONNRESET; A's streams end with an error too.
 */
TEST_F_TIMEOUT(slow, tampered_ciphertext, 120)
{
	enum { N = 4 };
	struct relay r = { .flip = 100 * 1024 };
	int fa[N], fb[N], i;
	struct mux *a, *b;
	struct flow w[N];
	pthread_t t[N];

	ASSERT_EQ(0, relay_muxes(&tls13_gcm128, &r, &a, &b));
	open_streams(_metadata, a, b, N, fa, fb);
	memset(w, 0, sizeof(w));
	/* Writers go on until the end reaches them (EPIPE). */
	for (i = 0; i < N; i++) {
		w[i] = (struct flow){ .fd = fa[i], .len = 8 << 20, .seed = i };
		ASSERT_EQ(0, pthread_create(&t[i], NULL, flow_write, &w[i]));
	}
	for (i = 0; i < N; i++)
		EXPECT_EQ(ECONNRESET, drain_errno(fb[i])) TH_LOG("stream %d", i);
	for (i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		EXPECT_NE(0, w[i].err) TH_LOG("stream %d wrote it all", i);
	}
	EXPECT_EQ(EBADMSG, mux_end_errno(b));
	EXPECT_LT(0, mux_end_errno(a));
	for (i = 0; i < N; i++) {
		close(fa[i]);
		close(fb[i]);
	}
	mux_close(a);
	mux_close(b);
	relay_done(&r);
}

/* A TCP reset in the middle of transfers ends both muxes with an error. */
TEST_F_TIMEOUT(slow, tcp_reset_mid_transfer, 120)
{
	struct relay r = { .rst = 64 * 1024 };
	struct flow w = { .len = 64 << 20, .seed = 3 };
	struct mux *a, *b;
	pthread_t t;
	int fa, fb;

	ASSERT_EQ(0, relay_muxes(&tls13_gcm128, &r, &a, &b));
	open_streams(_metadata, a, b, 1, &fa, &fb);
	w.fd = fa;
	/* The writer goes on until the reset reaches it (EPIPE). */
	ASSERT_EQ(0, pthread_create(&t, NULL, flow_write, &w));
	EXPECT_EQ(ECONNRESET, drain_errno(fb));
	pthread_join(t, NULL);
	EXPECT_NE(0, w.err);
	EXPECT_EQ(ECONNRESET, mux_end_errno(b));
	EXPECT_EQ(ECONNRESET, mux_end_errno(a));
	close(fa);
	close(fb);
	mux_close(a);
	mux_close(b);
	relay_done(&r);
}

/* ---- records that are not data, from a raw kTLS peer ------------------ */

/*
 * A raw peer speaking the protocol by hand over kTLS, a mux on the
 * other end, prefaces exchanged; the mux has opened one stream (*@fd),
 * whose OPEN the raw peer has read.
 */
static struct mux *raw_ktls_peer(int *raw, int *fd)
{
	struct timeval tv = { .tv_sec = 10 };
	uint8_t pf[PREFACE_LEN], h[HEADER_LEN], key[8];
	struct mux *m = NULL;
	int tcp;

	if (tcp_pair(raw, &tcp))
		return NULL;
	if (!ktls_pair_keys(*raw, tcp, &tls13_gcm128) &&
	    !setsockopt(*raw, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		m = mux_new(tcp);
	close(tcp);
	put_preface(pf, 1 << 20, 16);
	if (!m || write_all(*raw, pf, sizeof(pf)) ||
	    read_full(*raw, pf, sizeof(pf)) != sizeof(pf))
		goto fail;
	*fd = mux_open(m, "k", 1, 0, NULL);
	if (*fd < 0 || raw_read_frame(*raw, h, key, sizeof(key)) ||
	    h[0] != FT_OPEN)
		goto fail;
	return m;
fail:
	if (m)
		mux_close(m);
	close(*raw);
	return NULL;
}

FIXTURE(raw) {
	int raw, fd;
	struct mux *m;
};

FIXTURE_SETUP(raw)
{
	self->m = raw_ktls_peer(&self->raw, &self->fd);
	ASSERT_NE(NULL, self->m) TH_LOG("raw kTLS peer: %s", strerror(errno));
}

FIXTURE_TEARDOWN(raw)
{
	if (self->fd >= 0)
		close(self->fd);
	if (self->m)
		mux_close(self->m);
	close(self->raw);
}

/* A TLS 1.3 KeyUpdate: these kernels cannot rekey: EKEYEXPIRED. */
TEST_F(raw, key_update_ends)
{
	static const uint8_t ku[] = { 24, 0, 0, 1, 0 };

	ASSERT_EQ((ssize_t)sizeof(ku),
		  ktls_send_record(self->raw, TLS_CT_HANDSHAKE, ku, sizeof(ku)));
	EXPECT_EQ(EKEYEXPIRED, mux_end_errno(self->m));
	EXPECT_EQ(ECONNRESET, drain_errno(self->fd));
}

/* A fatal alert (handshake_failure): ECONNABORTED. */
TEST_F(raw, alert_ends)
{
	static const uint8_t alert[] = { 2, 40 };

	ASSERT_EQ(2, ktls_send_record(self->raw, TLS_CT_ALERT, alert, 2));
	EXPECT_EQ(ECONNABORTED, mux_end_errno(self->m));
	EXPECT_EQ(ECONNRESET, drain_errno(self->fd));
}

/* A NewSessionTicket is skipped: a PING after it is answered. */
TEST_F(raw, session_ticket_skipped)
{
	static const uint8_t nst[] = { 4, 0, 0, 4, 0, 0, 0, 0 };
	uint8_t f[HEADER_LEN + 8];
	const uint8_t ping[8] = "ticket!";

	ASSERT_EQ((ssize_t)sizeof(nst),
		  ktls_send_record(self->raw, TLS_CT_HANDSHAKE, nst,
				   sizeof(nst)));
	ASSERT_EQ(0, write_all(self->raw, f,
			       put_frame(f, FT_PING, 0, ping, 8)));
	EXPECT_EQ(0, wait_ping_ack(self->raw, ping));
}

/*
 * The peer's close_notify is the end of its bytes: after its GOAWAY with
 * no stream left, a clean end (SO_ERROR 0); else ECONNRESET.
 */
TEST_F(raw, close_notify_ends)
{
	static const uint8_t cn[] = { 1, 0 };

	ASSERT_EQ(2, ktls_send_record(self->raw, TLS_CT_ALERT, cn, 2));
	EXPECT_EQ(ECONNRESET, mux_end_errno(self->m));
	EXPECT_EQ(ECONNRESET, drain_errno(self->fd));
}

TEST_F(raw, close_notify_after_goaway_is_clean)
{
	static const uint8_t cn[] = { 1, 0 };
	uint8_t f[HEADER_LEN + 8] = { 0 }, h[HEADER_LEN], p[64];

	/* Our stream ends both ways first. */
	ASSERT_EQ(0, shutdown(self->fd, SHUT_WR));
	ASSERT_EQ(0, raw_read_frame(self->raw, h, p, sizeof(p)));
	ASSERT_EQ(FT_END, h[0]);
	ASSERT_EQ(0, write_all(self->raw, f,
			       put_frame(f, FT_END, STREAM_R | 1, NULL, 0)));
	EXPECT_EQ(0, drain_errno(self->fd));
	put_frame(f, FT_GOAWAY, 0, NULL, 8);	/* last 0, NO_ERROR */
	ASSERT_EQ(0, write_all(self->raw, f, sizeof(f)));
	ASSERT_EQ(2, ktls_send_record(self->raw, TLS_CT_ALERT, cn, 2));
	EXPECT_EQ(0, mux_end_errno(self->m));
}

/* A mux that ends cleanly sends close_notify before its FIN. */
TEST_F(raw, mux_sends_close_notify)
{
	uint8_t buf[4096], type, f[HEADER_LEN];
	bool alert = false;
	ssize_t n;

	close(self->fd);
	self->fd = -1;
	ASSERT_EQ(0, write_all(self->raw, f,
			       put_frame(f, FT_END, STREAM_R | 1, NULL, 0)));
	mux_close(self->m);
	self->m = NULL;
	while ((n = ktls_recv_record(self->raw, &type, buf, sizeof(buf))) > 0) {
		if (type == TLS_CT_ALERT) {
			EXPECT_EQ(2, n);
			EXPECT_EQ(0, buf[1]) TH_LOG("alert %u, not close_notify",
						    buf[1]);
			alert = true;
		}
	}
	EXPECT_EQ(0, n) TH_LOG("reading: %s", strerror(errno));
	EXPECT_TRUE(alert);
}

TEST_HARNESS_MAIN

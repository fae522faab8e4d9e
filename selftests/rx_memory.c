// SPDX-License-Identifier: GPL-2.0
/*
 * rx_memory.c - a stream nobody reads holds about its window of kernel
 * memory, however the peer cuts its frames.
 *
 * A raw TCP peer (the test, speaking docs/protocol.md by hand) opens one
 * stream and fills its whole window with DATA frames of one size, then
 * sends a PING; once the PING's answer comes back, the mux has queued
 * everything.  The accepted stream's receive memory (SO_MEMINFO) must stay
 * within a few windows: a clone of a TCP skb charges the whole skb, so
 * without copying small pieces a window of 1-byte frames would charge
 * gigabytes.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"

#define HDR_LEN 12

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static size_t hdr(uint8_t *p, uint8_t type, uint8_t flags, uint32_t len,
		  uint32_t stream)
{
	p[0] = type;
	p[1] = flags;
	p[2] = p[3] = 0;
	put32(p + 4, len);
	put32(p + 8, stream);
	return HDR_LEN;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

static int read_all(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= n;
	}
	return 0;
}

FIXTURE(rxmem) {
	int raw;	/* the test's end: plain TCP */
	int tcp;	/* the mux's end */
	struct mux *mux;
};

FIXTURE_VARIANT(rxmem) {
	uint32_t frame;	/* DATA payload per frame */
};

FIXTURE_VARIANT_ADD(rxmem, frames_1) { .frame = 1 };
FIXTURE_VARIANT_ADD(rxmem, frames_100) { .frame = 100 };
FIXTURE_VARIANT_ADD(rxmem, frames_300) { .frame = 300 };
FIXTURE_VARIANT_ADD(rxmem, frames_2000) { .frame = 2000 };
FIXTURE_VARIANT_ADD(rxmem, frames_65536) { .frame = 65536 };

FIXTURE_SETUP(rxmem)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	int l;

	l = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_GE(l, 0);
	ASSERT_EQ(bind(l, (struct sockaddr *)&a, sizeof(a)), 0);
	ASSERT_EQ(listen(l, 1), 0);
	ASSERT_EQ(getsockname(l, (struct sockaddr *)&a, &alen), 0);
	self->raw = socket(AF_INET, SOCK_STREAM, 0);
	ASSERT_GE(self->raw, 0);
	ASSERT_EQ(connect(self->raw, (struct sockaddr *)&a, sizeof(a)), 0);
	self->tcp = accept(l, NULL, NULL);
	ASSERT_GE(self->tcp, 0);
	close(l);
	self->mux = mux_new(self->tcp);
	ASSERT_NE(self->mux, NULL);
}

FIXTURE_TEARDOWN(rxmem)
{
	mux_close(self->mux);
	close(self->tcp);
	close(self->raw);
}

/* Read frames from the mux until the answer to our PING. */
static int wait_ping_ack(int fd, const uint8_t *ping)
{
	uint8_t h[HDR_LEN], payload[1024];

	for (;;) {
		uint32_t len;

		if (read_all(fd, h, sizeof(h)))
			return -1;
		len = get32(h + 4);
		if (len > sizeof(payload) || read_all(fd, payload, len))
			return -1;
		if (h[0] == 5 && (h[1] & 1) && len == 8 &&
		    !memcmp(payload, ping, 8))
			return 0;
	}
}

TEST_F_TIMEOUT(rxmem, unread_window, 300)
{
	const uint32_t window = AFMUX_WINDOW_DEFAULT;
	uint32_t frame = variant->frame, sent = 0;
	uint8_t preface[24] = "AFMUX\r\n", peer[24];
	uint8_t ping[8] = "rxmem!!", open[HDR_LEN + 3];
	uint32_t meminfo[SK_MEMINFO_VARS];
	socklen_t mlen = sizeof(meminfo);
	size_t batch = 1 << 20, used = 0;
	uint8_t *buf = malloc(batch);
	char key[16];
	int fd;

	ASSERT_NE(buf, NULL);
	preface[8] = 0;
	preface[9] = 1;				/* version */
	put32(preface + 12, window);
	put32(preface + 16, 16);		/* max streams */
	ASSERT_EQ(write_all(self->raw, preface, sizeof(preface)), 0);
	ASSERT_EQ(read_all(self->raw, peer, sizeof(peer)), 0);
	ASSERT_EQ(memcmp(peer, "AFMUX\r\n", 8), 0);

	hdr(open, 1, 0, 3, 1);			/* OPEN stream 1, key "mem" */
	memcpy(open + HDR_LEN, "mem", 3);
	ASSERT_EQ(write_all(self->raw, open, sizeof(open)), 0);

	/* Fill the window exactly, in frames of one size. */
	while (sent < window) {
		uint32_t n = window - sent < frame ? window - sent : frame;

		if (used + HDR_LEN + n > batch) {
			ASSERT_EQ(write_all(self->raw, buf, used), 0);
			used = 0;
		}
		used += hdr(buf + used, 0, 0, n, 1);
		memset(buf + used, 'm', n);
		used += n;
		sent += n;
	}
	used += hdr(buf + used, 5, 0, 8, 0);	/* PING */
	memcpy(buf + used, ping, 8);
	used += 8;
	ASSERT_EQ(write_all(self->raw, buf, used), 0);
	ASSERT_EQ(wait_ping_ack(self->raw, ping), 0);

	fd = mux_receive(self->mux, key, sizeof(key));
	ASSERT_GE(fd, 0);
	EXPECT_STREQ(key, "mem");
	ASSERT_EQ(getsockopt(fd, SOL_SOCKET, SO_MEMINFO, meminfo, &mlen), 0);
	TH_LOG("%u-byte frames: window %u B, stream holds %u B", frame, window,
	       meminfo[SK_MEMINFO_RMEM_ALLOC]);
	EXPECT_GE(meminfo[SK_MEMINFO_RMEM_ALLOC], window);
	EXPECT_LE(meminfo[SK_MEMINFO_RMEM_ALLOC], 6 * window);
	close(fd);
	free(buf);
}

TEST_HARNESS_MAIN

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
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>
#include <linux/afmux.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"

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
	ASSERT_EQ(tcp_pair(&self->raw, &self->tcp), 0);
	self->mux = mux_new(self->tcp);
	ASSERT_NE(self->mux, NULL);
}

FIXTURE_TEARDOWN(rxmem)
{
	mux_close(self->mux);
	close(self->tcp);
	close(self->raw);
}

TEST_F_TIMEOUT(rxmem, unread_window, 300)
{
	const uint32_t window = AFMUX_WINDOW_DEFAULT;
	uint32_t frame = variant->frame, sent = 0;
	uint8_t preface[PREFACE_LEN], peer[PREFACE_LEN];
	uint8_t ping[8] = "rxmem!!", open[HEADER_LEN + 3];
	uint32_t meminfo[SK_MEMINFO_VARS];
	socklen_t mlen = sizeof(meminfo);
	size_t batch = 1 << 20, used = 0;
	uint8_t *buf = malloc(batch);
	char key[16];
	int fd;

	ASSERT_NE(buf, NULL);
	put_preface(preface, window, 16);
	ASSERT_EQ(write_all(self->raw, preface, sizeof(preface)), 0);
	ASSERT_EQ(read_full(self->raw, peer, sizeof(peer)), sizeof(peer));
	ASSERT_EQ(memcmp(peer, "AFMUX\r\n", 8), 0);

	put_frame(open, FT_OPEN, 1, "mem", 3);	/* stream 1, key "mem" */
	ASSERT_EQ(write_all(self->raw, open, sizeof(open)), 0);

	/* Fill the window exactly, in frames of one size. */
	while (sent < window) {
		uint32_t n = window - sent < frame ? window - sent : frame;

		if (used + HEADER_LEN + n > batch) {
			ASSERT_EQ(write_all(self->raw, buf, used), 0);
			used = 0;
		}
		used += put_frame(buf + used, FT_DATA, 1, NULL, n);
		memset(buf + used - n, 'm', n);
		sent += n;
	}
	used += put_frame(buf + used, FT_PING, 0, ping, 8);
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

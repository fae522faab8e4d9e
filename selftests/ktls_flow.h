/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktls_flow.h - the traffic of selftests/ktls.c: a pair of muxes over one
 * TCP connection (kTLS on both ends, or plain), streams opened on one and
 * accepted on the other; the flows on them are flow.h's.
 */
#ifndef _AFMUX_KTLS_FLOW_H
#define _AFMUX_KTLS_FLOW_H

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
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "kselftest_harness.h"
#include "afmux.h"
#include "util.h"
#include "sha256.h"
#include "ktls_util.h"
#include "flow.h"

/*
 * Two muxes over one connection, kTLS on both ends if @st; both TCP
 * sockets with TCP_NOTSENT_LOWAT @lowat first, unless it is 0.
 */
static int muxes_lowat(const struct ktls_suite *st, struct mux **a,
		       struct mux **b, int lowat)
{
	int c, s;

	*a = *b = NULL;
	if (tcp_pair(&c, &s))
		return -1;
	if (lowat &&
	    (setsockopt(c, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat)) ||
	     setsockopt(s, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat)))) {
		close(c);
		close(s);
		return -1;
	}
	if (!st || !ktls_pair_keys(c, s, st)) {
		*a = mux_new(c);
		*b = mux_new(s);
	}
	close(c);
	close(s);
	return *a && *b ? 0 : -1;
}

static int muxes(const struct ktls_suite *st, struct mux **a, struct mux **b)
{
	return muxes_lowat(st, a, b, 0);
}

/* Open @n streams on @a; their peers accepted on @b, in order. */
static void open_streams(struct __test_metadata *_metadata, struct mux *a,
			 struct mux *b, int n, int *fa, int *fb)
{
	char key[32], got[64];
	int i;

	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "ktls-%d", i);
		fa[i] = mux_open(a, key, strlen(key), 0, NULL);
		ASSERT_GE(fa[i], 0) TH_LOG("open %d: %s", i, strerror(errno));
	}
	for (i = 0; i < n; i++) {
		fb[i] = mux_receive(b, got, sizeof(got));
		ASSERT_GE(fb[i], 0) TH_LOG("accept %d: %s", i, strerror(errno));
		snprintf(key, sizeof(key), "ktls-%d", i);
		ASSERT_STREQ(key, got);
	}
}

/*
 * One stream from @a to @b carrying @len bytes each way at once (seeds
 * @seed and @seed + 1), checked; its fds closed after.
 */
static void both_ways_flows(struct __test_metadata *_metadata,
			    struct mux *a, struct mux *b, size_t len,
			    uint32_t seed)
{
	struct flow w[2] = { { .len = len, .seed = seed },
			     { .len = len, .seed = seed + 1 } };
	struct flow r[2] = { { 0 } };
	int fa, fb;

	open_streams(_metadata, a, b, 1, &fa, &fb);
	w[0].fd = fa;
	r[0].fd = fb;
	w[1].fd = fb;
	r[1].fd = fa;
	run_flows(_metadata, w, r, 2);
	close(fa);
	close(fb);
}

#endif /* _AFMUX_KTLS_FLOW_H */

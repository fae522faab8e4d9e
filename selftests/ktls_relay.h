/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktls_relay.h - a relay for selftests/ktls.c: a thread between two TCP
 * connections that passes bytes both ways between muxes A and B (kTLS
 * end to end, or plain) and can look for a pattern in what goes by,
 * flip one byte from A, or reset both connections after some bytes.
 */
#ifndef _AFMUX_KTLS_RELAY_H
#define _AFMUX_KTLS_RELAY_H

#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "afmux.h"
#include "util.h"
#include "ktls_util.h"
#include "flow.h"		/* CHUNK */

#define RELAY_WAIT_MS	20000	/* the relay gives up after this idle */

/*
 * Bytes pass from @in to @out; the relay looks for @pat in them (across
 * reads), flips the byte at offset @flip (if not 0), or after @rst bytes
 * resets both TCP connections.
 */
struct relay {
	int fd[2];		/* toward A, toward B */
	const char *pat;
	size_t flip;		/* A -> B byte to flip; 0: none */
	size_t rst;		/* A -> B bytes before a reset; 0: none */
	size_t seen;		/* times @pat was seen */
	size_t moved[2];	/* bytes from A, from B */
	pthread_t t;
};

static void relay_reset(struct relay *r)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int i;

	for (i = 0; i < 2; i++) {
		setsockopt(r->fd[i], SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
		close(r->fd[i]);
		r->fd[i] = -1;
	}
}

/* Keep the last @plen - 1 bytes of @buf[0..@len) for the next scan. */
static void relay_keep_tail(uint8_t *tail, size_t *tlen, const uint8_t *buf,
			    size_t len, size_t plen)
{
	size_t keep = plen > 1 ? plen - 1 : 0;

	if (keep > len)
		keep = len;
	memcpy(tail, buf + len - keep, keep);
	*tlen = keep;
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	size_t plen = r->pat ? strlen(r->pat) : 0;
	uint8_t *buf = malloc(CHUNK + 64), *tail[2];
	size_t tlen[2] = { 0, 0 };
	bool open[2] = { true, true };

	tail[0] = calloc(1, 64);
	tail[1] = calloc(1, 64);
	while (buf && (open[0] || open[1])) {
		struct pollfd p[2] = { { .fd = open[0] ? r->fd[0] : -1,
					 .events = POLLIN },
				       { .fd = open[1] ? r->fd[1] : -1,
					 .events = POLLIN } };
		int i;

		if (poll(p, 2, RELAY_WAIT_MS) <= 0)
			break;
		for (i = 0; i < 2; i++) {
			ssize_t n;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			/* The pattern may straddle two reads. */
			memcpy(buf, tail[i], tlen[i]);
			n = read(r->fd[i], buf + tlen[i], CHUNK);
			if (n <= 0) {
				shutdown(r->fd[!i], SHUT_WR);
				open[i] = false;
				continue;
			}
			if (i == 0 && r->flip && r->moved[0] < r->flip &&
			    r->moved[0] + (size_t)n >= r->flip)
				buf[tlen[i] + r->flip - r->moved[0] - 1] ^= 0x5a;
			if (plen && memmem(buf, tlen[i] + (size_t)n, r->pat, plen))
				r->seen++;
			r->moved[i] += (size_t)n;
			if (write_all(r->fd[!i], buf + tlen[i], (size_t)n)) {
				open[i] = false;
				continue;
			}
			relay_keep_tail(tail[i], &tlen[i], buf,
					tlen[i] + (size_t)n, plen);
			if (i == 0 && r->rst && r->moved[0] >= r->rst) {
				relay_reset(r);
				goto out;
			}
		}
	}
out:
	free(buf);
	free(tail[0]);
	free(tail[1]);
	return NULL;
}

/* Muxes A and B with a relay between them; kTLS end to end if @st. */
static int relay_muxes(const struct ktls_suite *st, struct relay *r,
		       struct mux **a, struct mux **b)
{
	int ac, bs;

	*a = *b = NULL;
	if (tcp_pair(&ac, &r->fd[0]) || tcp_pair(&r->fd[1], &bs))
		return -1;
	if (!st || !ktls_pair_keys(ac, bs, st)) {
		*a = mux_new(ac);
		*b = mux_new(bs);
	}
	close(ac);
	close(bs);
	if (!*a || !*b)
		return -1;
	return pthread_create(&r->t, NULL, relay_main, r) ? -1 : 0;
}

static void relay_done(struct relay *r)
{
	pthread_join(r->t, NULL);
	if (r->fd[0] >= 0)
		close(r->fd[0]);
	if (r->fd[1] >= 0)
		close(r->fd[1]);
}

#endif /* _AFMUX_KTLS_RELAY_H */

// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * afmux.c - libafmux: finding the AF_MUX family, creating mux sockets, and
 * the stream API of afmux.h over the ioctls and socket options of
 * <linux/afmux.h>.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>		/* struct timespec, for errqueue.h */
#include <unistd.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <linux/afmux.h>
#include <linux/errqueue.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY	60
#endif

#include "afmux.h"

struct mux {
	int fd;		/* the mux socket */
};

int afmux_family(void)
{
	FILE *f = fopen(AFMUX_FAMILY_PATH, "re");
	int family = -1;

	if (!f)
		return -1;
	if (fscanf(f, "%d", &family) != 1 || family <= 0) {
		family = -1;
		errno = EIO;
	}
	fclose(f);
	return family;
}

int afmux_socket(int flags)
{
	int family = afmux_family();

	/* Not loaded yet: the default number autoloads the module. */
	if (family < 0 && errno == ENOENT)
		family = AFMUX_FAMILY_DEFAULT;
	if (family < 0)
		return -1;
	return socket(family, SOCK_STREAM | flags, 0);
}

static struct mux *mux_attach(int tcp_fd, uint32_t flags)
{
	struct afmux_attach at = { .fd = tcp_fd, .flags = flags };
	struct mux *m;
	int err;

	m = malloc(sizeof(*m));
	if (!m)
		return NULL;
	m->fd = afmux_socket(SOCK_CLOEXEC);
	if (m->fd < 0)
		goto fail;
	if (ioctl(m->fd, AFMUX_IOC_ATTACH, &at) < 0)
		goto fail_close;
	return m;

fail_close:
	err = errno;
	close(m->fd);
	errno = err;
fail:
	err = errno;
	free(m);
	errno = err;
	return NULL;
}

struct mux *mux_new(int tcp_fd)
{
	return mux_attach(tcp_fd, 0);
}

struct mux *mux_new_pool(int tcp_fd)
{
	return mux_attach(tcp_fd, AFMUX_ATTACH_POOL);
}

int mux_join(struct mux *m, int tcp_fd)
{
	struct afmux_join j = { .fd = tcp_fd };

	if (!m) {
		errno = EINVAL;
		return -1;
	}
	if (ioctl(m->fd, AFMUX_IOC_JOIN, &j) < 0 && errno != EINPROGRESS)
		return -1;
	return (int)j.link;
}

int mux_close(struct mux *m)
{
	int ret, err;

	if (!m) {
		errno = EINVAL;
		return -1;
	}
	ret = close(m->fd);
	err = errno;
	free(m);
	errno = err;
	return ret;
}

int mux_fd(const struct mux *m)
{
	if (!m) {
		errno = EINVAL;
		return -1;
	}
	return m->fd;
}

int mux_open(struct mux *m, const void *key, size_t key_len, int flags,
	     uint32_t *stream_id)
{
	struct afmux_open op = { 0 };
	int fd;

	if (!m || (!key && key_len)) {
		errno = EINVAL;
		return -1;
	}
#if SIZE_MAX > UINT32_MAX
	/* Longer than the kernel takes; also, __u32 must not truncate it. */
	if (key_len > UINT32_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
#endif
	op.key = (uintptr_t)key;
	op.key_len = (uint32_t)key_len;
	op.flags = (uint32_t)flags;
	fd = ioctl(m->fd, AFMUX_IOC_OPEN, &op);
	if (fd >= 0 && stream_id)
		*stream_id = op.stream_id;
	return fd;
}

int mux_accept(struct mux *m, void *key, size_t *key_len, int flags,
	       uint32_t *stream_id)
{
	struct afmux_accept acc = { 0 };
	int fd;

	if (!m || !key_len || (!key && *key_len)) {
		errno = EINVAL;
		return -1;
	}
	acc.key = (uintptr_t)key;
	acc.key_len = (uint32_t)*key_len;
#if SIZE_MAX > UINT32_MAX
	/* A buffer larger than __u32 can say is still big enough. */
	if (*key_len > UINT32_MAX)
		acc.key_len = UINT32_MAX;
#endif
	acc.flags = (uint32_t)flags;
	fd = ioctl(m->fd, AFMUX_IOC_ACCEPT, &acc);
	if (fd >= 0) {
		*key_len = acc.key_len;
		if (stream_id)
			*stream_id = acc.stream_id;
	} else if (errno == EMSGSIZE) {
		/* The stream stays queued; the kernel says what it needs. */
		*key_len = acc.key_len;
	}
	return fd;
}

int mux_send(struct mux *m, const char *key)
{
	if (!key) {
		errno = EINVAL;
		return -1;
	}
	return mux_open(m, key, strlen(key), AFMUX_O_CLOEXEC, NULL);
}

int mux_receive(struct mux *m, char *key, size_t keysz)
{
	size_t len;
	int fd;

	if (!m || !key || !keysz) {
		errno = EINVAL;
		return -1;
	}
	/* Leave room for the NUL: too long a key stays queued (EMSGSIZE). */
	len = keysz - 1;
	fd = mux_accept(m, key, &len, AFMUX_O_CLOEXEC, NULL);
	if (fd < 0)
		return -1;
	if (len > keysz - 1) {
		/* The kernel broke its promise; don't overrun anything. */
		close(fd);
		errno = EPROTO;
		return -1;
	}
	key[len] = '\0';
	return fd;
}

int mux_set_nonblock(struct mux *m, int nonblock)
{
	int fl, nfl;

	if (!m) {
		errno = EINVAL;
		return -1;
	}
	fl = fcntl(m->fd, F_GETFL);
	if (fl < 0)
		return -1;
	nfl = nonblock ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	if (nfl != fl && fcntl(m->fd, F_SETFL, nfl) < 0)
		return -1;
	return 0;
}

int mux_stream_info(int stream_fd, uint32_t *stream_id, int *local,
		    uint32_t *window)
{
	struct afmux_stream_info info;
	socklen_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (getsockopt(stream_fd, SOL_AFMUX, AFMUX_STREAM_INFO, &info, &len) < 0)
		return -1;
	/* Everything before the key is what this function reports. */
	if (len < offsetof(struct afmux_stream_info, key)) {
		errno = EPROTO;
		return -1;
	}
	if (stream_id)
		*stream_id = info.stream_id;
	if (local)
		*local = !!(info.flags & AFMUX_STREAM_F_LOCAL);
	if (window)
		*window = info.window;
	return 0;
}

int mux_stream_link(int stream_fd)
{
	struct afmux_stream_info info;
	socklen_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (getsockopt(stream_fd, SOL_AFMUX, AFMUX_STREAM_INFO, &info, &len) < 0)
		return -1;
	/* A kernel without pools: every stream is on the one connection. */
	if (len < offsetof(struct afmux_stream_info, link) + sizeof(info.link))
		return 0;
	return (int)info.link;
}

int mux_zerocopy_enable(int fd)
{
	int one = 1;

	if (!setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)))
		return 0;
	if (errno != EOPNOTSUPP)
		return -1;
	return setsockopt(fd, SOL_AFMUX, AFMUX_ZEROCOPY, &one, sizeof(one));
}

int mux_zerocopy_reap(int fd, struct mux_zerocopy *zc, int timeout_ms)
{
	struct pollfd p = { .fd = fd };

	for (;;) {
		char control[CMSG_SPACE(sizeof(struct sock_extended_err)) + 64];
		struct msghdr m = { .msg_control = control,
				    .msg_controllen = sizeof(control) };
		struct sock_extended_err *ee;
		struct cmsghdr *cm;
		uint32_t n;

		if (recvmsg(fd, &m, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -1;
			/* POLLERR comes whatever the events asked. */
			if (!timeout_ms || poll(&p, 1, timeout_ms) <= 0)
				return 0;
			timeout_ms = 0;
			continue;
		}
		cm = CMSG_FIRSTHDR(&m);
		if (!cm || !((cm->cmsg_level == SOL_IP &&
			      cm->cmsg_type == IP_RECVERR) ||
			     (cm->cmsg_level == SOL_IPV6 &&
			      cm->cmsg_type == IPV6_RECVERR)))
			continue;
		ee = (struct sock_extended_err *)CMSG_DATA(cm);
		if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY || ee->ee_errno)
			continue;
		n = ee->ee_data - ee->ee_info + 1;
		zc->done += n;
		if (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
			zc->copied += n;
	}
}

int mux_stream_set_window(int stream_fd, uint32_t window)
{
	int val;

	if (window > INT_MAX) {
		errno = EINVAL;
		return -1;
	}
	val = (int)window;
	return setsockopt(stream_fd, SOL_AFMUX, AFMUX_WINDOW, &val, sizeof(val));
}

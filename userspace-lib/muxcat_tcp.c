// SPDX-License-Identifier: GPL-2.0
/*
 * muxcat_tcp.c - muxcat's TCP connections: resolving HOST PORT,
 * connecting, listening and accepting (one connection, or with
 * --connections N as many for a pool).
 */
#include "muxcat.h"

static void report_addr(const char *what, const struct sockaddr *sa,
			socklen_t len)
{
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	if (!verbose)
		return;
	if (getnameinfo(sa, len, host, sizeof(host), serv, sizeof(serv),
			NI_NUMERICHOST | NI_NUMERICSERV))
		msg(0, "%s", what);
	else
		msg(0, "%s %s port %s", what, host, serv);
}

static struct addrinfo *resolve(const struct opts *o)
{
	struct addrinfo hints = {
		.ai_family = o->family,
		.ai_socktype = SOCK_STREAM,
		.ai_protocol = IPPROTO_TCP,
		.ai_flags = o->listen ? AI_PASSIVE : 0,
	};
	const char *host = o->host;
	struct addrinfo *res;
	int err;

	if (o->listen && (!*host || !strcmp(host, "*")))
		host = NULL;
	err = getaddrinfo(host, o->port, &hints, &res);
	if (err) {
		if (err == EAI_SYSTEM)
			msg(errno, "%s port %s", o->host, o->port);
		else
			msg(0, "%s port %s: %s", o->host, o->port,
			    gai_strerror(err));
		return NULL;
	}
	return res;
}

/* connect() that an interrupting signal does not abandon. */
static int connect_fd(int fd, const struct sockaddr *sa, socklen_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	socklen_t elen = sizeof(int);
	int err = 0;

	if (connect(fd, sa, len) == 0)
		return 0;
	if (errno != EINTR)
		return -1;
	/* It goes on in the background. */
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0)
		return -1;
	if (err) {
		errno = err;
		return -1;
	}
	return 0;
}

/* A connection to HOST PORT; -1 (reported) on failure. */
int tcp_connect(const struct opts *o)
{
	struct addrinfo *res = resolve(o), *ai;
	int fd = -1, err = EADDRNOTAVAIL;

	if (!res)
		return -1;
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			    ai->ai_protocol);
		if (fd >= 0 && connect_fd(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			report_addr("connected to", ai->ai_addr, ai->ai_addrlen);
			break;
		}
		err = errno;
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		msg(err, "connecting to %s port %s", o->host, o->port);
	return fd;
}

/* The listening socket on HOST PORT; -1 (reported) on failure. */
int tcp_listen(const struct opts *o)
{
	struct addrinfo *res = resolve(o), *ai;
	struct sockaddr_storage peer;
	socklen_t plen;
	int lfd = -1, err = EADDRNOTAVAIL, one = 1, zero = 0, pass;
	/* Every address: "::" first, which takes IPv4 too. */
	int v6first = o->family == AF_UNSPEC && (!*o->host ||
						 !strcmp(o->host, "*"));

	if (!res)
		return -1;
	for (pass = !v6first; lfd < 0 && pass < 2; pass++) {
		for (ai = res; ai; ai = ai->ai_next) {
			if (!pass && ai->ai_family != AF_INET6)
				continue;
			lfd = socket(ai->ai_family,
				     ai->ai_socktype | SOCK_CLOEXEC,
				     ai->ai_protocol);
			if (lfd >= 0 && v6first && ai->ai_family == AF_INET6)
				setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY,
					   &zero, sizeof(zero));
			if (lfd >= 0 &&
			    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one,
				       sizeof(one)) == 0 &&
			    bind(lfd, ai->ai_addr, ai->ai_addrlen) == 0 &&
			    listen(lfd, AFMUX_LINKS_MAX) == 0)
				break;
			err = errno;
			if (lfd >= 0)
				close(lfd);
			lfd = -1;
		}
	}
	freeaddrinfo(res);
	if (lfd < 0) {
		msg(err, "listening on %s port %s", o->host, o->port);
		return -1;
	}
	/* The real port, if PORT was 0. */
	plen = sizeof(peer);
	if (getsockname(lfd, (struct sockaddr *)&peer, &plen) == 0)
		report_addr("listening on", (struct sockaddr *)&peer, plen);
	return lfd;
}

/* The next connection on @lfd; -1 (reported) on failure. */
int tcp_accept(const struct opts *o, int lfd)
{
	struct sockaddr_storage peer;
	socklen_t plen;
	int fd;

	for (;;) {
		plen = sizeof(peer);
		fd = accept4(lfd, (struct sockaddr *)&peer, &plen,
			     SOCK_CLOEXEC);
		if (fd >= 0 || (errno != EINTR && errno != ECONNABORTED))
			break;
	}
	if (fd < 0)
		msg(errno, "accepting a connection on %s port %s", o->host,
		    o->port);
	else
		report_addr("connection from", (struct sockaddr *)&peer, plen);
	return fd;
}


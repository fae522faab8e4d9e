// SPDX-License-Identifier: GPL-2.0
/*
 * muxcat_zc.c - send --zerocopy: a regular file is mapped and written to
 * its stream with MSG_ZEROCOPY (afmux(7), "MSG_ZEROCOPY"), so the kernel
 * sends the file's pages without copying them; muxcat reads the
 * completions and unmaps the file only once the kernel has let go of
 * every piece.
 */
#include "muxcat.h"

#include <time.h>		/* struct timespec, for errqueue.h */
#include <sys/mman.h>
#include <linux/errqueue.h>

#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY	0x4000000
#endif
#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY	60
#endif

#define ZC_CHUNK	(1 << 20)	/* bytes per send */

/* SO_ZEROCOPY; AFMUX_ZEROCOPY where the kernel keeps that from us (6.1). */
static int zc_enable(int fd)
{
	int one = 1;

	if (!setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)))
		return 0;
	return setsockopt(fd, SOL_AFMUX, AFMUX_ZEROCOPY, &one, sizeof(one));
}

struct zc_state {
	uint32_t calls;		/* sends that took a number */
	uint32_t done;		/* numbers completed */
	uint32_t copied;	/* of them, copied after all */
};

/*
 * Reads the completions waiting on @fd, waiting up to @ms for one if none
 * is there.  0, or -1 with errno.
 */
static int zc_reap(int fd, struct zc_state *z, int ms)
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
			if (!ms || poll(&p, 1, ms) <= 0)
				return 0;
			ms = 0;
			continue;
		}
		cm = CMSG_FIRSTHDR(&m);
		if (!cm || cm->cmsg_level != SOL_IP ||
		    cm->cmsg_type != IP_RECVERR)
			continue;
		ee = (struct sock_extended_err *)CMSG_DATA(cm);
		if (ee->ee_origin != SO_EE_ORIGIN_ZEROCOPY)
			continue;
		n = ee->ee_data - ee->ee_info + 1;
		z->done += n;
		if (ee->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
			z->copied += n;
	}
}

/*
 * Sends regular file @in (what is left of it from its offset) on stream
 * @out with MSG_ZEROCOPY and leaves @in's offset after it, adding the
 * bytes to *@bytes.  1 if it cannot (not a regular file, empty, no
 * mapping, no MSG_ZEROCOPY): the caller copies as usual; 0 when sent; -1
 * after reporting "writing ONAME".
 */
int copy_zerocopy(int in, const char *iname, int out, const char *oname,
		   uint64_t *bytes)
{
	struct zc_state z = { 0 };
	struct stat st;
	off_t start = lseek(in, 0, SEEK_CUR);
	size_t len, off = 0;
	uint8_t *map;
	int ret = 0;

	(void)iname;
	if (start < 0 || fstat(in, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size <= start || zc_enable(out))
		return 1;
	len = (size_t)(st.st_size - start);
	map = mmap(NULL, len + (size_t)(start & 4095), PROT_READ, MAP_SHARED,
		   in, start & ~(off_t)4095);
	if (map == MAP_FAILED)
		return 1;
	while (off < len) {
		size_t n = len - off < ZC_CHUNK ? len - off : ZC_CHUNK;
		ssize_t w = send(out, map + (start & 4095) + off, n,
				 MSG_ZEROCOPY | MSG_NOSIGNAL);

		if (w < 0 && errno == ENOBUFS && z.done < z.calls) {
			/* Too many completions unread: read some. */
			if (zc_reap(out, &z, 1000) < 0)
				goto fail;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		z.calls++;
		off += (size_t)w;
		*bytes += (uint64_t)w;
		if (zc_reap(out, &z, 0) < 0)
			goto fail;
	}
	/* The pages stay in use until the kernel says otherwise. */
	while (z.done < z.calls)
		if (zc_reap(out, &z, 1000) < 0)
			goto fail;
	if (verbose)
		msg(0, "%s: %zu bytes with MSG_ZEROCOPY in %" PRIu32 " sends, %" PRIu32 " of them copied after all",
		    oname, len, z.calls, z.copied);
	goto out;
fail:
	msg(errno, "writing %s", oname);
	ret = -1;
out:
	munmap(map, len + (size_t)(start & 4095));
	if (!ret && lseek(in, start + (off_t)len, SEEK_SET) < 0)
		ret = 1;
	return ret;
}

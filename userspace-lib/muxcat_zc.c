// SPDX-License-Identifier: GPL-2.0
/*
 * muxcat_zc.c - send --zerocopy: a regular file is mapped and written to
 * its stream with MSG_ZEROCOPY (afmux(7), "MSG_ZEROCOPY"), so the kernel
 * sends the file's pages without copying them; muxcat reads the
 * completions and unmaps the file only once the kernel has let go of
 * every piece.
 */
#include <sys/mman.h>

#include "muxcat.h"

#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY	0x4000000
#endif

#define ZC_CHUNK	(1 << 20)	/* bytes per send */

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
	struct mux_zerocopy z = { 0 };
	uint32_t calls = 0;
	struct stat st;
	off_t start = lseek(in, 0, SEEK_CUR);
	size_t len, off = 0;
	uint8_t *map;
	int ret = 0;

	(void)iname;
	if (start < 0 || fstat(in, &st) || !S_ISREG(st.st_mode) ||
	    st.st_size <= start || mux_zerocopy_enable(out))
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

		if (w < 0 && errno == ENOBUFS && z.done < calls) {
			/* Too many completions unread: read some. */
			if (mux_zerocopy_reap(out, &z, 1000) < 0)
				goto fail;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto fail;
		calls++;
		off += (size_t)w;
		*bytes += (uint64_t)w;
		if (mux_zerocopy_reap(out, &z, 0) < 0)
			goto fail;
	}
	/* The pages stay in use until the kernel says otherwise. */
	while (z.done < calls)
		if (mux_zerocopy_reap(out, &z, 1000) < 0)
			goto fail;
	if (verbose)
		msg(0, "%s: %zu bytes with MSG_ZEROCOPY in %" PRIu32 " sends, %" PRIu32 " of them copied after all",
		    oname, len, calls, z.copied);
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

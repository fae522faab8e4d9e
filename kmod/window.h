/* SPDX-License-Identifier: GPL-2.0 */
/*
 * window.h - per-stream credit arithmetic (docs/protocol.md §5).
 *
 * Byte counts are u32 and wrap; a limit is never more than
 * AFMUX_WINDOW_MAX (< 2^31) away from the count it is compared with, so
 * the signed difference of two counts is always meaningful.  Pure
 * functions: the callers hold the lock of the counters they pass.
 */
#ifndef _AFMUX_WINDOW_H
#define _AFMUX_WINDOW_H

#include <linux/math64.h>
#include <linux/types.h>
#include <linux/afmux.h>

/* Bytes that may still be sent: limit - sent, or 0 when spent. */
static inline u32 afmux_credit(u32 limit, u32 sent)
{
	s32 c = (s32)(limit - sent);

	return c > 0 ? c : 0;
}

/* Does DATA of @len bytes after @recvd bytes stay within @limit? */
static inline bool afmux_window_fits(u32 limit, u32 recvd, u32 len)
{
	return (s32)(limit - recvd) >= 0 && len <= limit - recvd;
}

/*
 * A WINDOW frame moved the limit from @old to @new; the receiver of the
 * WINDOW has sent @sent bytes.  Legal unless it goes backwards or grants
 * more than the largest window beyond what was sent.  @sent never passes
 * @old, so @new - @sent is a distance forward: read as signed, a jump of
 * nearly 2^31 would pass for a limit behind @sent.
 */
static inline bool afmux_window_update_ok(u32 old, u32 new, u32 sent)
{
	return (s32)(new - old) >= 0 &&
	       new - sent <= AFMUX_WINDOW_MAX;
}

/*
 * The reader has consumed @consumed bytes, the peer was granted @granted
 * and the window is @window.  Return the new limit to announce, or
 * @granted when raising it now is not worth a frame (less than half the
 * window, as yamux and nghttp2 do: a quarter sent twice the WINDOW
 * frames, and half cut a 64-stream transfer's CPU per byte by 9-14 %).
 */
static inline u32 afmux_window_next(u32 granted, u32 consumed, u32 window)
{
	u32 next = consumed + window;

	if ((s32)(next - granted) < (s32)(window / 2))
		return granted;
	return next;
}

/*
 * Window autotuning (docs/design.md, "Windows"): the reader consumed
 * @bytes (more than half of @window) in @elapsed_ns.  If that took less
 * than 2 round trips per half window (4 * bytes / window * rtt, as
 * quic-go does), the window, not the reader, limited the stream: grow it.
 * @rtt_ns is at most NSEC_PER_SEC, so 4 * rtt * bytes fits in a u64;
 * elapsed * window would not (from 2^38 ns, 275 s, at 64 MiB), so the
 * comparison divides: e * w < l  <=>  e <= (l - 1) / w.
 */
static inline bool afmux_window_should_grow(u32 bytes, u32 window,
					    u64 elapsed_ns, u64 rtt_ns)
{
	u64 limit = 4 * rtt_ns * bytes;

	if (!window || bytes <= window / 2 || !limit)
		return false;
	return elapsed_ns <= div_u64(limit - 1, window);
}

#endif /* _AFMUX_WINDOW_H */

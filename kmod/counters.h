/* SPDX-License-Identifier: GPL-2.0 */
/*
 * counters.h - the per-namespace event counters /proc/net/afmux_stat
 * shows (proc.c prints them; docs/observe.md and afmux(7) name them).
 * Per CPU, so counting takes no lock and no shared cache line; a reader
 * sums them.  The order here is the order of the names in proc.c.
 */
#ifndef _AFMUX_COUNTERS_H
#define _AFMUX_COUNTERS_H

#include <linux/percpu.h>
#include <linux/types.h>

#include "frame.h"

/* Reset codes are counted up to VERSION_ERROR; any other is "other". */
#define AFMUX_MIB_CODES		(AFMUX_VERSION_ERROR + 2)

enum afmux_mib_index {
	AFMUX_MIB_FRAMES_RX,			/* + frame type */
	AFMUX_MIB_FRAMES_TX = AFMUX_MIB_FRAMES_RX + __AFMUX_T_MAX,
	AFMUX_MIB_BAD = AFMUX_MIB_FRAMES_TX + __AFMUX_T_MAX, /* + afmux_bad */
	AFMUX_MIB_RESETS_RX = AFMUX_MIB_BAD + __AFMUX_BAD_MAX, /* + code */
	AFMUX_MIB_RESETS_TX = AFMUX_MIB_RESETS_RX + AFMUX_MIB_CODES,
	/* Connections */
	AFMUX_MIB_CONN_ATTACHED = AFMUX_MIB_RESETS_TX + AFMUX_MIB_CODES,
	AFMUX_MIB_CONN_FAILED,		/* ended with an error */
	AFMUX_MIB_CONN_CLEAN,		/* detached without one */
	AFMUX_MIB_CONN_KEEPALIVE,	/* ended by the keepalive, join deadline */
	AFMUX_MIB_CONN_DETACHED,	/* TCP socket given back */
	/* Streams */
	AFMUX_MIB_STREAMS_OPENED,	/* by this end */
	AFMUX_MIB_STREAMS_INCOMING,	/* the peer's, queued for accept */
	AFMUX_MIB_STREAMS_ACCEPTED,	/* handed to the user */
	AFMUX_MIB_STREAMS_REFUSED,	/* the peer's OPEN refused */
	AFMUX_MIB_OPEN_FAILED,		/* our OPEN refused here (ENOBUFS) */
	AFMUX_MIB_ORPHANS_RESET,	/* closed streams reset: timeout, cap */
	/* Flow control */
	AFMUX_MIB_WINDOW_STALLS,	/* a writer found no credit */
	AFMUX_MIB_GRANTS_CAPPED,	/* grants cut: memory limits */
	AFMUX_MIB_RX_PAUSED,		/* answers full: TCP not read */
	/* Memory */
	AFMUX_MIB_RX_COPIES,		/* payload copied, not referenced */
	AFMUX_MIB_TX_COPIES,		/* page payload copied, not referenced */
	AFMUX_MIB_ALLOC_FAILURES,
	__AFMUX_MIB_MAX
};

struct afmux_mib {
	u64 v[__AFMUX_MIB_MAX];
};

static inline void afmux_mib_inc(struct afmux_mib __percpu *mib,
				 unsigned int i)
{
	this_cpu_inc(mib->v[i]);
}

/* The counter of a RESET's code. */
static inline unsigned int afmux_mib_code(u32 code)
{
	return min_t(u32, code, AFMUX_MIB_CODES - 1);
}

#endif /* _AFMUX_COUNTERS_H */

// SPDX-License-Identifier: GPL-2.0
/*
 * memory.c - what a connection's receive credit costs the machine.
 *
 * The credit a connection grants (stream.c, "receive budget") is data the
 * peer may send and we must queue, so it is charged as socket memory of
 * the mux socket, the way TCP charges its queues: to the memory cgroup of
 * the task that created the mux socket (sk_memcg), and to afmux's own
 * pool, whose limits in pages are the global sysctl net.afmux.mem (set
 * from free memory at load, as net.ipv4.tcp_mem is).  A charge the cgroup
 * (memory.max) or the pool's hard limit refuses fails: the stream is
 * refused or the grant cut.  Above the pool's pressure limit windows stop
 * growing.
 */
#include <linux/memcontrol.h>
#include <linux/mm.h>
#include <linux/percpu.h>
#include <linux/sched/mm.h>
#include <net/sock.h>

#include "afmux.h"

atomic_long_t afmux_memory_allocated;
DEFINE_PER_CPU(int, afmux_memory_per_cpu_fw_alloc);
long afmux_sysctl_mem[3];
/*
 * The proto's rmem and wmem (both): __sk_mem_schedule() lets a socket
 * that holds less than rmem[0] in sk_rmem_alloc charge between the pool's
 * low and hard limits.  The mux socket holds none, so only the hard limit
 * and the cgroup refuse.  (The sock_exceed_buf_limit tracepoint reads
 * wmem[0] too.)
 */
int afmux_sysctl_buf[3] = { 1, 1, 1 };

/*
 * The pool's limits, from free memory as tcp_init_mem() sets tcp_mem,
 * but higher: what is charged is credit, the most the peers may make the
 * module hold, not what is queued now.  Pressure from 1/4, no more
 * credit from 1/2 of it.
 */
void afmux_memory_init(void)
{
	unsigned long limit = max(nr_free_buffer_pages() / 8, 128UL);

	afmux_sysctl_mem[0] = limit;
	afmux_sysctl_mem[1] = limit * 2;
	afmux_sysctl_mem[2] = limit * 4;
}

/*
 * Would @pages more take @memcg or an ancestor past memory.max?  The
 * charge cannot tell by failing: made under conn->lock (or in softirq)
 * it is atomic, and memcg lets atomic charges through over the limit.
 */
static bool afmux_memcg_full(struct mem_cgroup *memcg, unsigned long pages)
{
#ifdef CONFIG_MEMCG
	for (; memcg; memcg = parent_mem_cgroup(memcg))
		if (page_counter_read(&memcg->memory) + pages >
		    READ_ONCE(memcg->memory.max))
			return true;
#endif
	return false;
}

/**
 * afmux_memory_charge - charge receive credit to the mux socket
 * @conn: the connection
 * @bytes: how much credit
 *
 * Caller holds conn->lock (which serialises sk_forward_alloc of the mux
 * socket; the charge never sleeps).
 *
 * Return: false if the memory cgroup or the pool refused it.
 */
bool afmux_memory_charge(struct afmux_conn *conn, u32 bytes)
{
	struct sock *sk = &conn->sk;
	int delta = (int)bytes - sk->sk_forward_alloc;

	lockdep_assert_held(&conn->lock);
	if (delta <= 0)
		goto charge;
	if (mem_cgroup_sockets_enabled && sk->sk_memcg &&
	    afmux_memcg_full(sk->sk_memcg, sk_mem_pages(delta)))
		return false;
	if (!__sk_mem_schedule(sk, delta, SK_MEM_RECV))
		return false;
charge:
	sk_mem_charge(sk, bytes);
	return true;
}

/* Give back @bytes charged by afmux_memory_charge(). */
void afmux_memory_uncharge(struct afmux_conn *conn, u32 bytes)
{
	lockdep_assert_held(&conn->lock);
	sk_mem_uncharge(&conn->sk, bytes);
}

/* The pool is above its pressure limit: windows stop growing. */
bool afmux_memory_pressure(void)
{
	return atomic_long_read(&afmux_memory_allocated) >
	       READ_ONCE(afmux_sysctl_mem[1]);
}

/* The mux socket is going away: everything was uncharged; free the rest. */
void afmux_memory_release(struct afmux_conn *conn)
{
	struct sock *sk = &conn->sk;

	WARN_ON_ONCE(conn->rx_charged);
	if (sk->sk_forward_alloc > 0)
		__sk_mem_reclaim(sk, sk->sk_forward_alloc);
}

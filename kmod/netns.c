// SPDX-License-Identifier: GPL-2.0
/*
 * netns.c - what afmux keeps per network namespace: the net.afmux.*
 * sysctls (defaults and limits; docs/security.md lists them with their
 * ranges).  A mux socket takes window, backlog and keepalive from the
 * namespace it is created in when it is created, the others when it needs
 * them; changing a sysctl affects connections from then on.  Each
 * namespace's root may change its own, as for net.ipv4.*.
 * One setting is global and lives in the initial namespace: net.afmux.mem.
 * Each namespace also has its /proc/net files (proc.c).
 */
#include <linux/sysctl.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>
#include <linux/afmux.h>

#include "afmux.h"
#include "compat.h"

static unsigned int afmux_net_id __read_mostly;

static const int afmux_one = 1;
static const int afmux_int_max = INT_MAX;
static const int afmux_window_min = AFMUX_WINDOW_MIN;
static const int afmux_window_max = AFMUX_WINDOW_MAX;
static const int afmux_ms_max = 3600 * 1000;	/* an hour */
static const int afmux_linger_max = 600 * 1000;

#define AFMUX_SYSCTL(name, field, min, max) {				\
	.procname	= name,						\
	.data		= (void *)offsetof(struct afmux_net, field),	\
	.maxlen		= sizeof(int),					\
	.mode		= 0644,						\
	.proc_handler	= proc_dointvec_minmax,				\
	.extra1		= (void *)(min),				\
	.extra2		= (void *)(max),				\
}

/* .data holds offsets into struct afmux_net until copied for a netns. */
static struct ctl_table afmux_sysctl_template[] = {
	AFMUX_SYSCTL("window", window, &afmux_window_min, &afmux_window_max),
	AFMUX_SYSCTL("window_max", window_max, &afmux_window_min,
		     &afmux_window_max),
	AFMUX_SYSCTL("backlog", backlog, &afmux_one, &afmux_int_max),
	AFMUX_SYSCTL("max_streams", max_streams, &afmux_one, &afmux_int_max),
	AFMUX_SYSCTL("keepalive_idle_ms", keepalive_idle_ms, SYSCTL_ZERO,
		     &afmux_ms_max),
	AFMUX_SYSCTL("keepalive_timeout_ms", keepalive_timeout_ms, &afmux_one,
		     &afmux_ms_max),
	AFMUX_SYSCTL("orphan_timeout_ms", orphan_timeout_ms, &afmux_one,
		     &afmux_ms_max),
	AFMUX_SYSCTL("orphans_max", orphans_max, SYSCTL_ZERO, &afmux_int_max),
	AFMUX_SYSCTL("linger_ms", linger_ms, SYSCTL_ZERO, &afmux_linger_max),
	AFMUX_SYSCTL("conn_mem_max", conn_mem_max, &afmux_window_min,
		     &afmux_int_max),
	{ }
};

/**
 * afmux_net - the afmux state of @net
 * @net: a network namespace
 *
 * Return: its struct afmux_net; the int settings may change at any time
 * (read them with READ_ONCE()).
 */
struct afmux_net *afmux_net(const struct net *net)
{
	return net_generic(net, afmux_net_id);
}

static int __net_init afmux_net_init(struct net *net)
{
	struct afmux_net *an = afmux_net(net);
	struct ctl_table *table;
	unsigned int i;
	int err;

	an->window = AFMUX_WINDOW_DEFAULT;
	an->window_max = AFMUX_WINDOW_MAX;
	an->backlog = 4096;
	an->max_streams = 1 << 20;
	an->keepalive_idle_ms = 0;
	an->keepalive_timeout_ms = 20 * 1000;
	an->orphan_timeout_ms = 60 * 1000;
	an->orphans_max = 4096;
	an->linger_ms = 10 * 1000;
	an->conn_mem_max = 256 << 20;

	err = afmux_proc_net_init(net);
	if (err)
		return err;
	table = kmemdup(afmux_sysctl_template, sizeof(afmux_sysctl_template),
			GFP_KERNEL);
	if (!table)
		goto err_proc;
	for (i = 0; i < ARRAY_SIZE(afmux_sysctl_template) - 1; i++)
		table[i].data = (char *)an + (uintptr_t)table[i].data;
	an->sysctl = afmux_register_net_sysctl(net, "net/afmux", table,
					       ARRAY_SIZE(afmux_sysctl_template) -
					       1);
	if (!an->sysctl) {
		kfree(table);
		goto err_proc;
	}
	return 0;

err_proc:
	afmux_proc_net_exit(net);
	return -ENOMEM;
}

static void __net_exit afmux_net_exit(struct net *net)
{
	struct afmux_net *an = afmux_net(net);
	const struct ctl_table *table = an->sysctl->ctl_table_arg;

	unregister_net_sysctl_table(an->sysctl);
	kfree(table);
	afmux_proc_net_exit(net);
}

static struct pernet_operations afmux_net_ops = {
	.init	= afmux_net_init,
	.exit	= afmux_net_exit,
	.id	= &afmux_net_id,
	.size	= sizeof(struct afmux_net),
};

/*
 * The one global setting, in the initial namespace only (as tcp_mem):
 * the pool receive credit is charged to (memory.c), in pages.
 */
static struct ctl_table afmux_global_sysctl[] = {
	{
		.procname	= "mem",
		.data		= afmux_sysctl_mem,
		.maxlen		= sizeof(afmux_sysctl_mem),
		.mode		= 0644,
		.proc_handler	= proc_doulongvec_minmax,
	},
	{ }
};

static struct ctl_table_header *afmux_global_header;

int afmux_netns_init(void)
{
	int err;

	err = register_pernet_subsys(&afmux_net_ops);
	if (err)
		return err;
	afmux_global_header =
		afmux_register_net_sysctl(&init_net, "net/afmux",
					  afmux_global_sysctl,
					  ARRAY_SIZE(afmux_global_sysctl) - 1);
	if (!afmux_global_header) {
		unregister_pernet_subsys(&afmux_net_ops);
		return -ENOMEM;
	}
	return 0;
}

void afmux_netns_exit(void)
{
	unregister_net_sysctl_table(afmux_global_header);
	unregister_pernet_subsys(&afmux_net_ops);
}

// SPDX-License-Identifier: GPL-2.0
/*
 * main.c - module entry points and parameters of afmux.
 *
 * The only parameter is the address family number (see uapi/linux/afmux.h
 * for why it is a parameter at all).  It is read-only once loaded, so
 * userspace can trust /sys/module/afmux/parameters/family.
 */
#include <linux/module.h>
#include <linux/net.h>
#include <linux/afmux.h>

#include "afmux.h"

static int family = AFMUX_FAMILY_DEFAULT;
module_param(family, int, 0444);
MODULE_PARM_DESC(family, "address family number to register AF_MUX as (default "
		 __stringify(AFMUX_FAMILY_DEFAULT) ")");

/* Connection work (receive, transmit, teardown); see conn.c. */
struct workqueue_struct *afmux_wq;
/* Work that may run on any CPU: a kTLS connection's rx_work. */
struct workqueue_struct *afmux_unbound_wq;

static int __init afmux_init(void)
{
	int err;

	err = afmux_family_check(family);
	if (err) {
		pr_err("family=%d is not a valid address family number (1..%d)\n",
		       family, NPROTO - 1);
		return err;
	}
	afmux_wq = alloc_workqueue("afmux", WQ_HIGHPRI, 0);
	if (!afmux_wq)
		return -ENOMEM;
	afmux_unbound_wq = alloc_workqueue("afmux_unbound",
					   WQ_UNBOUND | WQ_HIGHPRI, 0);
	if (!afmux_unbound_wq) {
		err = -ENOMEM;
		goto err_wq;
	}
	err = afmux_netns_init();
	if (err)
		goto err_unbound;
	err = afmux_takeover_init();
	if (err) {
		pr_err("cannot register the afmux TCP ULP: %d\n", err);
		goto err_netns;
	}
	err = afmux_family_register(family);
	if (err == -EEXIST)
		pr_err("address family %d is already registered by another protocol; load with family=N to pick a free number\n",
		       family);
	else if (err)
		pr_err("cannot register address family %d: %d\n", family, err);
	if (err)
		goto err_takeover;
	pr_info("AF_MUX registered as address family %d\n", family);
	return 0;

err_takeover:
	afmux_takeover_exit();
err_netns:
	afmux_netns_exit();
err_unbound:
	destroy_workqueue(afmux_unbound_wq);
err_wq:
	destroy_workqueue(afmux_wq);
	return err;
}

static void __exit afmux_exit(void)
{
	afmux_family_unregister(family);
	afmux_takeover_exit();
	afmux_netns_exit();
	destroy_workqueue(afmux_unbound_wq);
	destroy_workqueue(afmux_wq);
}

module_init(afmux_init);
module_exit(afmux_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("AF_MUX: keyed byte streams multiplexed over one TCP socket");
MODULE_AUTHOR("afmux developers");
MODULE_ALIAS_NETPROTO(AFMUX_FAMILY_DEFAULT);

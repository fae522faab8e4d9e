/* SPDX-License-Identifier: GPL-2.0 */
/* Host shim (tools/fuzz): declarations compat.h's helpers name. */
#ifndef _FUZZ_SHIM_NET_NET_NAMESPACE_H
#define _FUZZ_SHIM_NET_NET_NAMESPACE_H
#include <stddef.h>

struct net;
struct ctl_table;
struct ctl_table_header;
struct ctl_table_header *register_net_sysctl_sz(struct net *net,
						const char *path,
						struct ctl_table *table,
						size_t size);
#endif

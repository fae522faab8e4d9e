/* SPDX-License-Identifier: GPL-2.0 */
/* Host shim (tools/fuzz): nothing the codec needs. */

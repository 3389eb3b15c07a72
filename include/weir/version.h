/* Versions of everything that crosses a process boundary (weir-dp <-> weir-cp
 * <-> weirctl). Bump a number whenever its layout changes, so a mismatched
 * peer refuses to attach instead of misreading memory. */
#ifndef WEIR_VERSION_H
#define WEIR_VERSION_H

#define WEIR_VERSION_STRING "0.1.0"
#define WEIR_STATS_ABI_VERSION 2u /* 2: IPv4 reassembly counters (#20) */
#define WEIR_DPDK_VERSION_BUILT "22.11"

#endif

/* table_check: the one check of a table snapshot (include/weir/table.h)
 * both processes run: weir-cp on what it compiled, each weir-dp worker
 * before it adopts a snapshot from the control segment (and its telemetry
 * thread on a copy). A worker must be able to trust every offset, index
 * and string in a table after this returns 0. */
#ifndef WEIR_TABLE_CHECK_H
#define WEIR_TABLE_CHECK_H

#include <stddef.h>

#include "weir/table.h"

/* Magic, ABI version, sizes, every offset and index in range, every string
 * NUL-terminated, routes pointing to HTTP backends. len: bytes readable at
 * mem. Returns 0, -EPROTO (not a table or another ABI version) or -EINVAL
 * (inconsistent). */
int weir_table_check(const void *mem, size_t len);

#endif

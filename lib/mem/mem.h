/* mem.h - the common address space: one virtual range reserved at dt_init,
 * holding distributed memory (dt_dmalloc) and the ranks' local memory
 * (dt_lmalloc).  The range is chosen so that the cluster layer can map it at
 * the same address on every rank; allocation metadata lives inside it. */
#ifndef DT__MEM_H
#define DT__MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* dt_init: reads DT_DMEM_SIZE and DT_LMEM_SIZE (DT_ECONFIG on a bad value). */
int dt__mem_configure(void);
/* Collective with several ranks: they agree on one address for the range
 * (dmem, then one lmem slice per rank). */
int dt__mem_init(int rank, int nranks);
void dt__mem_fini(void);
/* Is [addr, addr+size) inside the common address space? */
bool dt__mem_contains(uintptr_t addr, size_t size);
/* ... and inside the ranks' local memory (dt_lmalloc), each rank's slice at
   its own addresses: not dt_dmalloc memory. */
bool dt__mem_in_lmem(uintptr_t addr, size_t size);
/* The rank whose block of a dt_dmalloc allocation (or lmem slice) holds
 * addr; 0 outside the common address space. */
int dt__mem_home(uintptr_t addr, int nranks);
/* Faults in the pages of [addr, addr + len) for writing with one call
 * (Linux >= 5.14; elsewhere they fault as they are first written).  On the
 * VM of bench/RESULTS.md a 4 KiB page costs ~1 us this way against ~15 us
 * touched one by one. */
void dt__mem_populate(uintptr_t addr, size_t len);

#endif

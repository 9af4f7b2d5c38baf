/* mem.h - the common address space: one virtual range reserved at dt_init,
 * holding distributed memory (dt_dmalloc) and the ranks' local memory
 * (dt_lmalloc).  The range is chosen so that the cluster layer can map it at
 * the same address on every rank; allocation metadata lives inside it. */
#ifndef DT_MEM_H
#define DT_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int dt__mem_init(size_t dmem_size, size_t lmem_size);
void dt__mem_fini(void);
/* Is [addr, addr+size) inside the common address space? */
bool dt__mem_contains(uintptr_t addr, size_t size);

#endif

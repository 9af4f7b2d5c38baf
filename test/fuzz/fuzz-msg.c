/* libFuzzer target: the control-message decoder must reject or accept any
 * byte string without reading outside it, and what it accepts must be
 * self-consistent (counts and sizes add up to the length it was given). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "cluster/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy: the sanitizer then flags any read past its end */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    dt__msg m;
    const char *why;
    if (dt__msg_decode(buf, size, &m, &why) == 0 && (m.type == DT__MSG_OFFLOAD || m.type == DT__MSG_PUSH)) {
        size_t nreg = (size_t)m.nacc + m.nfetch + m.nback;
        size_t payload = (size_t)m.args_size + sizeof(dt__wire_region) * nreg + m.label_len;
        if ((const uint8_t *)m.label + m.label_len != buf + size || payload > size) abort();
        volatile uint8_t sink = 0;
        for (uint32_t i = 0; i < m.args_size; i++) sink ^= ((const uint8_t *)m.args)[i];
        for (uint32_t i = 0; i < m.label_len; i++) sink ^= (uint8_t)m.label[i];
        (void)sink;
    }
    free(buf);
    return 0;
}

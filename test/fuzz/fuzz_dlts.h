/* The link types the fuzz target and its seed extractor agree on: a fuzz
 * input's first byte, low 4 bits, indexes this table. */
#ifndef FUZZ_DLTS_H
#define FUZZ_DLTS_H

#include "sl_pkt.h"

static const int fuzz_dlts[16] = {
    SL_DLT_EN10MB,
    SL_DLT_RAW,
    SL_DLT_NULL,
    SL_DLT_LINUX_SLL,
    SL_DLT_IEEE802_11_RADIO,
    SL_DLT_IEEE802_11,
    SL_DLT_PPP,
    SL_DLT_PPP_SERIAL,
    SL_DLT_LOOP,
    SL_DLT_RAW_BSD12,
    SL_DLT_RAW_BSD14,
    SL_DLT_IPV4,
    SL_DLT_IPV6,
    SL_DLT_EN10MB,
    SL_DLT_EN10MB,
    147 /* unsupported: must stop cleanly */
};

#endif

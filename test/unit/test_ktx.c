/* sl_ktx: the edges of what a kernel link carries (the values measured on
 * a veth with test/e2e/frontend_kernel.sh), and the fast path agreeing with
 * the careful one. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "sl_ktx.h"

static uint8_t frame[9100];

static const uint8_t *eth(uint16_t ethertype)
{
    memset(frame, 0xab, sizeof(frame));
    frame[12] = (uint8_t)(ethertype >> 8);
    frame[13] = (uint8_t)ethertype;
    return frame;
}

static const struct sl_ktx_link veth = {.mtu = 1500, .room = 16352};

static enum sl_ktx_verdict v(const struct sl_ktx_link *l, uint16_t et, uint32_t len, uint32_t wire)
{
    const uint8_t *h = eth(et);
    enum sl_ktx_verdict slow = sl_ktx_classify(l, h, len, wire);
    ck_assert_int_eq(sl_ktx_check(l, sl_ktx_fast_max(l), h, len, wire), slow);
    return slow;
}

START_TEST(runts)
{
    for (uint32_t n = 0; n < 14; n++)
        ck_assert_int_eq(v(&veth, 0x0800, n, n), SL_KTX_RUNT);
    ck_assert_int_eq(v(&veth, 0x0800, 14, 14), SL_KTX_OK);
    /* a runt that is snapped too: the runt is what the kernel refuses */
    ck_assert_int_eq(v(&veth, 0x0800, 10, 60), SL_KTX_RUNT);
}
END_TEST

START_TEST(vlan_tags)
{
    for (uint32_t n = 14; n < 20; n++) {
        ck_assert_int_eq(v(&veth, 0x8100, n, n), SL_KTX_VLAN_RUNT);
        ck_assert_int_eq(v(&veth, 0x88a8, n, n), SL_KTX_VLAN_RUNT);
        ck_assert_int_eq(v(&veth, 0x9100, n, n), SL_KTX_OK); /* not a tag Linux strips */
        ck_assert_int_eq(v(&veth, 0x0800, n, n), SL_KTX_OK);
    }
    ck_assert_int_eq(v(&veth, 0x8100, 20, 20), SL_KTX_OK);
    ck_assert_int_eq(v(&veth, 0x88a8, 20, 20), SL_KTX_OK);
}
END_TEST

START_TEST(mtu)
{
    ck_assert_int_eq(v(&veth, 0x0800, 1514, 1514), SL_KTX_OK);
    ck_assert_int_eq(v(&veth, 0x0800, 1515, 1515), SL_KTX_OVERSIZE);
    /* 802.1Q: 4 bytes more (AF_PACKET's packet_extra_vlan_len_allowed) */
    ck_assert_int_eq(v(&veth, 0x8100, 1518, 1518), SL_KTX_OK);
    ck_assert_int_eq(v(&veth, 0x8100, 1519, 1519), SL_KTX_OVERSIZE);
    ck_assert_int_eq(v(&veth, 0x88a8, 1515, 1515), SL_KTX_OVERSIZE);
    /* oversize is checked before snapped */
    ck_assert_int_eq(v(&veth, 0x0800, 1600, 3000), SL_KTX_OVERSIZE);
}
END_TEST

START_TEST(ring_slot)
{
    const struct sl_ktx_link small = {.mtu = 1500, .room = 992};
    ck_assert_uint_eq(sl_ktx_fast_max(&small), 992);
    ck_assert_int_eq(v(&small, 0x0800, 992, 992), SL_KTX_OK);
    ck_assert_int_eq(v(&small, 0x0800, 993, 993), SL_KTX_OVERSIZE);
    ck_assert_int_eq(v(&small, 0x8100, 993, 993), SL_KTX_OVERSIZE); /* no VLAN allowance here */
    const struct sl_ktx_link tap = {.mtu = 0, .room = 1522};
    ck_assert_int_eq(v(&tap, 0x0800, 1522, 1522), SL_KTX_OK);
    ck_assert_int_eq(v(&tap, 0x0800, 1523, 1523), SL_KTX_OVERSIZE);
    const struct sl_ktx_link none = {0, 0};
    ck_assert_uint_eq(sl_ktx_fast_max(&none), UINT32_MAX);
    ck_assert_int_eq(v(&none, 0x0800, 9000, 9000), SL_KTX_OK);
    ck_assert_int_eq(v(&none, 0x0800, 5, 5), SL_KTX_RUNT);
}
END_TEST

START_TEST(snapped)
{
    ck_assert_int_eq(v(&veth, 0x0800, 100, 200), SL_KTX_SNAPPED);
    ck_assert_int_eq(v(&veth, 0x0800, 100, 100), SL_KTX_OK);
    ck_assert_int_eq(v(&veth, 0x8100, 18, 100), SL_KTX_VLAN_RUNT);
}
END_TEST

START_TEST(every_length_agrees)
{
    /* fast path == careful path over every length and the tags that matter */
    const uint16_t ets[] = {0x0800, 0x8100, 0x88a8, 0x86dd, 0x0026};
    const struct sl_ktx_link links[] = {veth, {1500, 992}, {9000, 16352}, {0, 1522}, {0, 0}};
    for (size_t l = 0; l < sizeof(links) / sizeof(links[0]); l++)
        for (size_t e = 0; e < sizeof(ets) / sizeof(ets[0]); e++)
            for (uint32_t n = 0; n < sizeof(frame); n += n < 64 ? 1 : 7) {
                v(&links[l], ets[e], n, n);
                v(&links[l], ets[e], n, n + 1);
            }
    ck_assert_str_eq(sl_ktx_name(SL_KTX_VLAN_RUNT), "vlan_runt");
    ck_assert_str_eq(sl_ktx_name(SL_KTX_MAX), "?");
}
END_TEST

static Suite *ktx_suite(void)
{
    Suite *s = suite_create("ktx");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, runts);
    tcase_add_test(tc, vlan_tags);
    tcase_add_test(tc, mtu);
    tcase_add_test(tc, ring_slot);
    tcase_add_test(tc, snapped);
    tcase_add_test(tc, every_length_agrees);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ktx_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed != 0;
}

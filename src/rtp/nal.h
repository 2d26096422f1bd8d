/* Private to src/rtp: the packetizer H.264 (RFC 6184) and H.265 (RFC 7798)
 * share. Both send a NAL unit that fits alone, put small units (parameter
 * sets, SEI) together in one aggregation packet (STAP-A / AP) and cut large
 * ones into fragmentation units (FU-A / FU); they differ in header sizes and
 * bits, which each codec gives as a const table. */
#ifndef CR_RTP_NAL_H
#define CR_RTP_NAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtp/rtp.h"

struct cr_rtp_nal_fmt_s {
	size_t header; /* NAL unit header bytes: 1 (H.264), 2 (H.265) */
	/* Whether a NAL unit of n bytes is sent at all (access unit delimiters
	 * and units shorter than their header are not). */
	bool (*keep)(const uint8_t *nal, size_t n);
	/* Whether a NAL unit may share an aggregation packet. */
	bool (*aggregate)(const uint8_t *nal);
	/* The aggregation packet's header (header bytes): starts as ap_init and
	 * takes in each unit it carries through ap_add. */
	uint8_t ap_init[2];
	void (*ap_add)(uint8_t *ap, const uint8_t *nal);
	/* The fragmentation unit's payload header (header + 1 bytes) with the
	 * start and end bits (0x80, 0x40 of the last byte) clear. */
	void (*fu_head)(const uint8_t *nal, uint8_t *fu);
};

/* Payloads one Annex-B access unit; returns the packets emitted, or -EINVAL
 * when it holds no NAL unit to send. */
int cr_rtp_nal(struct cr_rtp_s *r, const struct cr_rtp_nal_fmt_s *fmt, const uint8_t *data, size_t size,
	       uint32_t ts);

#endif

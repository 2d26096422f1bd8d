/* Units of the WebRTC stack with known vectors and round trips: STUN (RFC
 * 5769 test vectors), the payloaders (packets reassembled back into what
 * went in), RTCP, SDP (a real Chromium offer), SRTP, and a DTLS-SRTP
 * handshake against an OpenSSL client in the same process. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/dtls.h"
#include "net/sdp.h"
#include "net/srtp.h"
#include "net/stun.h"
#include "rtp/rtp.h"
#include "tests/check.h"

/* ---- STUN ---- */

static const uint8_t rfc5769_request[] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10, 0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73,
	0x74, 0x20, 0x63, 0x6c, 0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36, 0x00, 0x06, 0x00, 0x09,
	0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76, 0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14,
	0x9a, 0xea, 0xa7, 0x0c, 0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf};

static const uint8_t rfc5769_response[] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86,
	0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b, 0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63,
	0x74, 0x6f, 0x72, 0x20, 0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3, 0x8c, 0x74, 0x89, 0xf9,
	0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7, 0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96};

static void test_stun(void)
{
	static const char pwd[] = "VOkJxbRl1RmTxUk/WvJxBt";
	struct cr_stun_msg_s m;
	CHECK(cr_stun_is(rfc5769_request, sizeof(rfc5769_request)), "first-byte demux");
	CHECK(cr_stun_parse(rfc5769_request, sizeof(rfc5769_request), &m) == 0, "RFC 5769 2.1 parses");
	CHECK(m.type == CR_STUN_BINDING_REQUEST && m.fingerprint, "type/fingerprint");
	CHECK(m.username_len == 9 && memcmp(m.username, "evtj:h6vY", 9) == 0, "username");
	CHECK(m.priority == 0x6e0001ff && m.ice_controlled, "priority/controlled");
	CHECK(cr_stun_check_integrity(rfc5769_request, sizeof(rfc5769_request), &m, pwd, strlen(pwd)),
	      "RFC 5769 2.1 integrity");
	CHECK(!cr_stun_check_integrity(rfc5769_request, sizeof(rfc5769_request), &m, "wrong", 5),
	      "wrong password rejected");

	CHECK(cr_stun_parse(rfc5769_response, sizeof(rfc5769_response), &m) == 0, "RFC 5769 2.2 parses");
	const struct sockaddr_in *a = (const struct sockaddr_in *)&m.xor_mapped;
	CHECK(m.has_xor_mapped && a->sin_family == AF_INET && ntohs(a->sin_port) == 32853 &&
		      ntohl(a->sin_addr.s_addr) == 0xc0000201,
	      "XOR-MAPPED-ADDRESS 192.0.2.1:32853");
	CHECK(cr_stun_check_integrity(rfc5769_response, sizeof(rfc5769_response), &m, pwd, strlen(pwd)),
	      "RFC 5769 2.2 integrity");

	/* Tampering breaks the fingerprint. */
	uint8_t bad[sizeof(rfc5769_request)];
	memcpy(bad, rfc5769_request, sizeof(bad));
	bad[30] ^= 1;
	CHECK(cr_stun_parse(bad, sizeof(bad), &m) < 0, "tampered message rejected");
	CHECK(cr_stun_parse(rfc5769_request, sizeof(rfc5769_request) - 4, &m) < 0, "truncated rejected");

	/* Our request and response round trip. */
	uint8_t tid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, buf[512];
	size_t n = cr_stun_binding_request(buf, sizeof(buf), tid, "abcd:efgh", "secretsecretsecret", 18, true);
	CHECK(n > 0 && cr_stun_parse(buf, n, &m) == 0 && m.use_candidate && m.ice_controlling,
	      "own request parses");
	CHECK(cr_stun_check_integrity(buf, n, &m, "secretsecretsecret", 18), "own request integrity");
	struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(5000)};
	inet_pton(AF_INET, "10.1.2.3", &from.sin_addr);
	n = cr_stun_binding_response(buf, sizeof(buf), tid, (struct sockaddr *)&from, "pw", 2);
	CHECK(n > 0 && cr_stun_parse(buf, n, &m) == 0 && m.type == CR_STUN_BINDING_SUCCESS &&
		      memcmp(m.tid, tid, 12) == 0,
	      "own response parses");
	a = (const struct sockaddr_in *)&m.xor_mapped;
	CHECK(a->sin_port == from.sin_port && a->sin_addr.s_addr == from.sin_addr.s_addr, "mapped address");
	CHECK(cr_stun_check_integrity(buf, n, &m, "pw", 2), "own response integrity");
}

/* ---- payloaders ---- */

#define MAXP 64
static uint8_t pkts[MAXP][CR_RTP_MAX_PACKET];
static size_t plen[MAXP];
static int npkts;

static void _collect(void *opaque, uint8_t *p, size_t len)
{
	(void)opaque;
	if (npkts < MAXP) {
		memcpy(pkts[npkts], p, len);
		plen[npkts++] = len;
	}
}

static void _payload(struct cr_rtp_s *r, const uint8_t *d, size_t n, uint32_t ts, bool key)
{
	npkts = 0;
	r->emit = _collect;
	CHECK(cr_rtp_payload(r, d, n, ts, key, 320, 240) == npkts && npkts > 0, "payload %zu bytes", n);
	for (int i = 0; i < npkts; i++) {
		uint32_t t = (uint32_t)pkts[i][4] << 24 | (uint32_t)pkts[i][5] << 16 | pkts[i][6] << 8 | pkts[i][7];
		CHECK(t == ts, "all packets share the timestamp");
		CHECK(((pkts[i][1] & 0x80) != 0) == (i == npkts - 1), "marker only on the last packet (%d)", i);
		CHECK(plen[i] <= CR_RTP_HEADER + r->max_payload, "packet size %zu", plen[i]);
		if (i > 0)
			CHECK((uint16_t)((pkts[i][2] << 8 | pkts[i][3]) - (pkts[i - 1][2] << 8 | pkts[i - 1][3])) == 1,
			      "consecutive sequence numbers");
	}
}

static void _fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16) | 1; /* no zero bytes: no start codes */
	}
}

static void test_h264(void)
{
	static uint8_t au[4000], idr[3000];
	uint8_t sps[] = {0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8, 0x40};
	uint8_t pps[] = {0x68, 0xce, 0x3c, 0x80};
	_fill(idr, sizeof(idr), 1);
	idr[0] = 0x65;
	size_t n = 0;
	const uint8_t sc[] = {0, 0, 0, 1};
	const uint8_t aud[] = {0x09, 0xf0};
	memcpy(au + n, sc, 4), n += 4, memcpy(au + n, aud, 2), n += 2;
	memcpy(au + n, sc, 4), n += 4, memcpy(au + n, sps, sizeof(sps)), n += sizeof(sps);
	memcpy(au + n, sc + 1, 3), n += 3, memcpy(au + n, pps, sizeof(pps)), n += sizeof(pps);
	memcpy(au + n, sc, 4), n += 4, memcpy(au + n, idr, sizeof(idr)), n += sizeof(idr);
	struct cr_rtp_s r;
	cr_rtp_init(&r, CR_CODEC_H264, 96, 0x1234, 65534);
	_payload(&r, au, n, 9000, true);
	CHECK(npkts == 1 + 3, "STAP-A + 3 FU-A (%d)", npkts);
	const uint8_t *p = pkts[0] + 12;
	CHECK((p[0] & 0x1f) == 24 && p[1] == 0 && p[2] == sizeof(sps) && memcmp(p + 3, sps, sizeof(sps)) == 0 &&
		      p[3 + sizeof(sps) + 1] == sizeof(pps) && memcmp(p + 5 + sizeof(sps), pps, sizeof(pps)) == 0,
	      "STAP-A holds SPS and PPS (AUD dropped)");
	static uint8_t re[4000];
	size_t rn = 1;
	re[0] = 0;
	for (int i = 1; i < npkts; i++) {
		const uint8_t *f = pkts[i] + 12;
		CHECK((f[0] & 0x1f) == 28 && (f[1] & 0x1f) == 5, "FU-A of the IDR");
		CHECK(((f[1] & 0x80) != 0) == (i == 1) && ((f[1] & 0x40) != 0) == (i == npkts - 1), "S/E bits");
		if (i == 1)
			re[0] = (uint8_t)((f[0] & 0xe0) | (f[1] & 0x1f));
		memcpy(re + rn, f + 2, plen[i] - 14);
		rn += plen[i] - 14;
	}
	CHECK(rn == sizeof(idr) && memcmp(re, idr, sizeof(idr)) == 0, "FU-A reassembles the NAL");
	CHECK(r.seq == (uint16_t)(65534 + 4), "sequence wraps");
	/* A small P slice goes alone. */
	uint8_t p_au[] = {0, 0, 1, 0x41, 0x9a, 0x22, 0x33};
	_payload(&r, p_au, sizeof(p_au), 12000, false);
	CHECK(npkts == 1 && plen[0] == 12 + 4 && pkts[0][12] == 0x41, "single NAL unit packet");
	uint8_t junk[] = {1, 2, 3};
	npkts = 0;
	CHECK(cr_rtp_payload(&r, junk, sizeof(junk), 0, false, 0, 0) < 0, "no start code: -EINVAL");
}

static void test_h265(void)
{
	static uint8_t au[5000], nal[2500];
	uint8_t vps[] = {0x40, 0x01, 0x0c, 0x01}, sps[] = {0x42, 0x01, 0x01, 0x01, 0x60},
		pps[] = {0x44, 0x01, 0xc1, 0x72};
	_fill(nal, sizeof(nal), 2);
	nal[0] = 19 << 1; /* IDR_W_RADL */
	nal[1] = 1;
	size_t n = 0;
	const uint8_t sc[] = {0, 0, 0, 1};
	memcpy(au + n, sc, 4), n += 4, memcpy(au + n, vps, 4), n += 4;
	memcpy(au + n, sc, 4), n += 4, memcpy(au + n, sps, 5), n += 5;
	memcpy(au + n, sc, 4), n += 4, memcpy(au + n, pps, 4), n += 4;
	memcpy(au + n, sc, 4), n += 4, memcpy(au + n, nal, sizeof(nal)), n += sizeof(nal);
	struct cr_rtp_s r;
	cr_rtp_init(&r, CR_CODEC_H265, 96, 1, 0);
	_payload(&r, au, n, 1, true);
	CHECK(npkts == 1 + 3, "AP + 3 FUs (%d)", npkts);
	CHECK(((pkts[0][12] >> 1) & 0x3f) == 48, "aggregation packet first");
	static uint8_t re[3000];
	size_t rn = 2;
	for (int i = 1; i < npkts; i++) {
		const uint8_t *f = pkts[i] + 12;
		CHECK(((f[0] >> 1) & 0x3f) == 49 && (f[2] & 0x3f) == 19, "FU of the IDR");
		memcpy(re + rn, f + 3, plen[i] - 15);
		rn += plen[i] - 15;
	}
	re[0] = nal[0], re[1] = nal[1];
	CHECK(rn == sizeof(nal) && memcmp(re, nal, sizeof(nal)) == 0, "FU reassembles the NAL");
}

static void test_vp8_vp9(void)
{
	static uint8_t frame[2500], re[2500];
	_fill(frame, sizeof(frame), 3);
	struct cr_rtp_s r;
	cr_rtp_init(&r, CR_CODEC_VP8, 97, 1, 100);
	uint16_t pid0 = r.picture_id;
	_payload(&r, frame, sizeof(frame), 5, true);
	CHECK(npkts == 3, "VP8 in 3 packets (%d)", npkts);
	size_t rn = 0;
	for (int i = 0; i < npkts; i++) {
		const uint8_t *d = pkts[i] + 12;
		CHECK(d[0] == (i == 0 ? 0x90 : 0x80) && d[1] == 0x80, "X, S on the first, I");
		CHECK(((d[2] & 0x7f) << 8 | d[3]) == pid0 && (d[2] & 0x80), "15-bit picture id");
		memcpy(re + rn, d + 4, plen[i] - 16);
		rn += plen[i] - 16;
	}
	CHECK(rn == sizeof(frame) && memcmp(re, frame, rn) == 0, "VP8 reassembles");
	_payload(&r, frame, 100, 6, false);
	CHECK(((pkts[0][14] & 0x7f) << 8 | pkts[0][15]) == ((pid0 + 1) & 0x7fff), "picture id increments");

	cr_rtp_init(&r, CR_CODEC_VP9, 98, 1, 7);
	_payload(&r, frame, sizeof(frame), 5, true);
	rn = 0;
	for (int i = 0; i < npkts; i++) {
		const uint8_t *d = pkts[i] + 12;
		bool first = i == 0, last = i == npkts - 1;
		CHECK((d[0] & 0xa0) == 0xa0 && !(d[0] & 0x40), "I and L set, P clear on a keyframe");
		CHECK(((d[0] & 0x08) != 0) == first && ((d[0] & 0x04) != 0) == last, "B/E bits");
		CHECK(((d[0] & 0x02) != 0) == first, "SS on the first packet of a keyframe");
		size_t h = 5;
		if (first) {
			CHECK(d[5] == 0x18 && (d[6] << 8 | d[7]) == 320 && (d[8] << 8 | d[9]) == 240 && d[10] == 1,
			      "SS: one layer 320x240, one frame in the group");
			h = 13;
		}
		memcpy(re + rn, d + h, plen[i] - 12 - h);
		rn += plen[i] - 12 - h;
	}
	CHECK(rn == sizeof(frame) && memcmp(re, frame, rn) == 0, "VP9 reassembles");
	uint8_t tl0 = pkts[0][16];
	_payload(&r, frame, 50, 6, false);
	CHECK((pkts[0][12] & 0x40) && !(pkts[0][12] & 0x02) && pkts[0][16] == (uint8_t)(tl0 + 1),
	      "inter frame: P set, no SS, TL0PICIDX increments");
	/* Plain RTP mode: picture id only. */
	cr_rtp_init(&r, CR_CODEC_VP9, 98, 1, 7);
	r.vp9_minimal = true;
	_payload(&r, frame, 500, 5, true);
	CHECK(npkts == 1 && pkts[0][12] == (0x80 | 0x08 | 0x04) && plen[0] == 12 + 3 + 500 &&
		      memcmp(pkts[0] + 15, frame, 500) == 0,
	      "minimal descriptor: I, B, E and the picture id");
}

static size_t _leb(const uint8_t *p, size_t *v)
{
	size_t n = 0;
	*v = 0;
	do
		*v |= (size_t)(p[n] & 0x7f) << (7 * n);
	while (p[n++] & 0x80);
	return n;
}

static void test_av1(void)
{
	static uint8_t tu[4000], frame_payload[3000];
	_fill(frame_payload, sizeof(frame_payload), 4);
	uint8_t seqhdr[] = {0x00, 0x00, 0x00, 0x0a, 0x0b, 0x0c};
	size_t n = 0;
	tu[n++] = (2 << 3) | 0x02, tu[n++] = 0; /* temporal delimiter, size 0 */
	tu[n++] = (1 << 3) | 0x02, tu[n++] = sizeof(seqhdr);
	memcpy(tu + n, seqhdr, sizeof(seqhdr)), n += sizeof(seqhdr);
	tu[n++] = (6 << 3) | 0x02; /* frame OBU, size 3000 as LEB128 */
	tu[n++] = (uint8_t)(0x80 | (3000 & 0x7f)), tu[n++] = (uint8_t)(3000 >> 7);
	memcpy(tu + n, frame_payload, sizeof(frame_payload)), n += sizeof(frame_payload);
	struct cr_rtp_s r;
	cr_rtp_init(&r, CR_CODEC_AV1, 45, 1, 0);
	_payload(&r, tu, n, 5, true);
	CHECK(npkts == 3, "AV1 in 3 packets (%d)", npkts);
	/* Reassemble OBU elements across packets. */
	static uint8_t elems[4][4000];
	size_t elen[4] = {0};
	int ne = 0;
	bool cont = false;
	for (int i = 0; i < npkts; i++) {
		const uint8_t *d = pkts[i] + 12, *e = pkts[i] + plen[i];
		uint8_t agg = d[0];
		CHECK(((agg & 0x80) != 0) == cont, "Z matches the previous Y");
		CHECK(((agg & 0x08) != 0) == (i == 0), "N on the first packet of a keyframe");
		CHECK((agg & 0x30) == 0, "W 0: every element has a length");
		d++;
		bool first = true;
		while (d < e) {
			size_t len;
			d += _leb(d, &len);
			CHECK(d + len <= e, "element inside the packet");
			if (d + len > e)
				return;
			int idx = first && cont ? ne - 1 : ne++;
			if (idx >= 4 || idx < 0)
				return;
			memcpy(elems[idx] + elen[idx], d, len);
			elen[idx] += len;
			d += len;
			first = false;
		}
		cont = (agg & 0x40) != 0;
	}
	CHECK(ne == 2, "TD dropped: sequence header and frame (%d)", ne);
	CHECK(elen[0] == 1 + sizeof(seqhdr) && elems[0][0] == (1 << 3) &&
		      memcmp(elems[0] + 1, seqhdr, sizeof(seqhdr)) == 0,
	      "sequence header OBU without its size field");
	CHECK(elen[1] == 1 + sizeof(frame_payload) && elems[1][0] == (6 << 3) &&
		      memcmp(elems[1] + 1, frame_payload, sizeof(frame_payload)) == 0,
	      "frame OBU reassembled");
	uint8_t bad[] = {0x80, 0x00};
	npkts = 0;
	CHECK(cr_rtp_payload(&r, bad, sizeof(bad), 0, false, 0, 0) < 0, "forbidden bit: -EINVAL");
}

/* ---- RTCP ---- */

static void test_rtcp(void)
{
	uint8_t b[256];
	size_t n = 0;
	/* RR with one block for SSRC 0x11223344 */
	uint8_t rr[] = {0x81, 201, 0, 7, 0, 0, 0, 9, 0x11, 0x22, 0x33, 0x44, 64, 0xff, 0xff, 0xfe,
			0, 0, 0x10, 0, 0, 0, 0, 90, 0x12, 0x34, 0x56, 0x78, 0, 1, 0, 0};
	memcpy(b + n, rr, sizeof(rr)), n += sizeof(rr);
	/* Generic NACK: PID 100, BLP bits 0 and 2 → 100, 101, 103 */
	uint8_t nack[] = {0x81, 205, 0, 3, 0, 0, 0, 9, 0x11, 0x22, 0x33, 0x44, 0, 100, 0, 5};
	memcpy(b + n, nack, sizeof(nack)), n += sizeof(nack);
	n += cr_rtcp_pli(b + n, sizeof(b) - n, 9, 0x11223344);
	uint8_t fir[] = {0x84, 206, 0, 4, 0, 0, 0, 9, 0, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 1, 0, 0, 0};
	memcpy(b + n, fir, sizeof(fir)), n += sizeof(fir);
	struct cr_rtcp_info_s ri;
	CHECK(cr_rtcp_parse(b, n, &ri) == 0, "compound parses");
	CHECK(ri.n_rr == 1 && ri.rr[0].ssrc == 0x11223344 && ri.rr[0].fraction_lost == 64 &&
		      ri.rr[0].cumulative_lost == -2 && ri.rr[0].jitter == 90,
	      "receiver report block");
	CHECK(ri.n_nack == 3 && ri.nack_seqs[0] == 100 && ri.nack_seqs[1] == 101 && ri.nack_seqs[2] == 103,
	      "NACK list (%d)", ri.n_nack);
	CHECK(ri.pli == 1 && ri.fir == 1, "PLI and FIR");
	CHECK(cr_rtcp_parse(b, n - 1, &ri) < 0, "truncated compound rejected");
	b[0] = 0x41;
	CHECK(cr_rtcp_parse(b, n, &ri) < 0, "wrong version rejected");
	/* RTT: LSR = t - 10 ms - DLSR(5 ms) */
	uint64_t now = (uint64_t)1000 << 32;
	uint32_t mid = (uint32_t)(now >> 16);
	int64_t rtt = cr_rtcp_rtt_us(now, mid - 655 - 328, 328);
	CHECK(rtt > 9000 && rtt < 11000, "RTT from LSR/DLSR (%lld us)", (long long)rtt);
	n = cr_rtcp_sender_report(b, sizeof(b), 7, now, 1234, 10, 1000, "camrelay-x");
	CHECK(n > 28 && n % 4 == 0 && b[1] == 200 && b[29] == 202, "SR + SDES");
	CHECK(cr_rtcp_parse(b, n, &ri) == 0, "own SR parses");
}

/* ---- SDP ---- */

static char *_read(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	static char buf[65536];
	*len = fread(buf, 1, sizeof(buf) - 1, f);
	buf[*len] = 0;
	fclose(f);
	return buf;
}

static void test_sdp(const char *corpus)
{
	char path[512], err[256];
	size_t len;
	snprintf(path, sizeof(path), "%s/sdp/good-chromium.sdp", corpus);
	char *text = _read(path, &len);
	CHECK(text != NULL, "read %s", path);
	if (!text)
		return;
	static struct cr_sdp_offer_s o, back;
	CHECK(cr_sdp_parse_offer(text, len, &o, err, sizeof(err)) == 0, "Chromium offer parses: %s", err);
	CHECK(o.n_media == 3 && strcmp(o.media[1].type, "video") == 0, "three sections, video second");
	const struct cr_sdp_media_s *m = &o.media[1];
	CHECK(m->ufrag[0] && m->pwd[0] && strcmp(m->fp_alg, "sha-256") == 0 && strcmp(m->setup, "actpass") == 0,
	      "ICE and DTLS attributes");
	char fmtp[256];
	int rtx = -1;
	struct cr_sdp_want_s want = {CR_CODEC_H264, 66, 0xe0};
	int i = cr_sdp_match(m, &want, fmtp, sizeof(fmtp), &rtx);
	CHECK(i >= 0 && strstr(fmtp, "profile-level-id=42e01f") && strstr(fmtp, "packetization-mode=1"),
	      "constrained baseline matched exactly: %s", fmtp);
	CHECK(rtx >= 0, "its RTX payload type found");
	struct cr_sdp_want_s vp9 = {CR_CODEC_VP9, 0, 0}, av1 = {CR_CODEC_AV1, 0, 0};
	CHECK(cr_sdp_match(m, &vp9, fmtp, sizeof(fmtp), &rtx) >= 0 && strstr(fmtp, "profile-id=0"), "VP9 profile 0");
	CHECK(cr_sdp_match(m, &av1, fmtp, sizeof(fmtp), &rtx) >= 0, "AV1");
	const char *cands[] = {"127.0.0.1", "192.0.2.7"};
	struct cr_sdp_answer_s a = {.media = 1, .pt = m->fmts[i].pt, .rtx_pt = rtx, .codec = CR_CODEC_H264,
				    .fmtp = "packetization-mode=1", .ssrc = 1, .rtx_ssrc = 2, .ufrag = "uf",
				    .pwd = "0123456789012345678901", .fingerprint = "AA:BB", .stream = "cam",
				    .candidates = cands, .n_candidates = 2, .port = 8555};
	static char ans[16384];
	int n = cr_sdp_build_answer(&o, &a, ans, sizeof(ans));
	CHECK(n > 0, "answer built");
	CHECK(strstr(ans, "a=ice-lite\r\n") && strstr(ans, "a=setup:passive\r\n") && strstr(ans, "a=group:BUNDLE 1\r\n") &&
		      strstr(ans, "a=candidate:1 1 udp ") && strstr(ans, " 127.0.0.1 8555 typ host\r\n"),
	      "answer attributes");
	CHECK(cr_sdp_parse_offer(ans, (size_t)n, &back, err, sizeof(err)) == 0 && back.n_media == 3 &&
		      back.media[0].port == 0 && back.media[2].port == 0 && back.media[1].n_fmts == 2,
	      "the answer parses back: audio and data rejected, video with RTX: %s", err);
	CHECK(cr_sdp_build_answer(&o, &a, ans, 100) == -ENOSPC, "small buffer: -ENOSPC");
	n = cr_sdp_plain_rtp(ans, sizeof(ans), "cam", "239.0.0.1", 5004, CR_CODEC_VP8, 97, 90000, NULL, 0);
	CHECK(n > 0 && strstr(ans, "m=video 5004 RTP/AVP 97") && strstr(ans, "a=rtpmap:97 VP8/90000") &&
		      strstr(ans, "c=IN IP4 239.0.0.1"),
	      "plain RTP SDP");
	/* Parameter sets out of a keyframe (SPS, PPS, IDR slice) into sprop-*. */
	static const uint8_t au264[] = {0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xab, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80,
					0, 0, 0, 1, 0x65, 0x88, 0x84};
	uint8_t ps[64];
	size_t psn = cr_annexb_param_sets(CR_CODEC_H264, au264, sizeof(au264), ps, sizeof(ps));
	CHECK(psn == 8 + 4 + 5 && ps[4] == 0x67 && ps[13] == 0x68, "H.264 parameter sets out of a keyframe (%zu bytes)",
	      psn);
	n = cr_sdp_plain_rtp(ans, sizeof(ans), "cam", "::1", 5004, CR_CODEC_H264, 96, 90000, ps, psn);
	CHECK(n > 0 && strstr(ans, "a=fmtp:96 packetization-mode=1;profile-level-id=42c01f;"
				   "sprop-parameter-sets=Z0LAH6s=,aM48gA==\r\n"),
	      "H.264 SDP: profile-level-id and sprop-parameter-sets:\n%s", ans);
	static const uint8_t au265[] = {0, 0, 0, 1, 0x40, 0x01, 0x0c, 0, 0, 0, 1, 0x42, 0x01, 0x01, 0, 0, 0, 1,
					0x44, 0x01, 0xc1, 0, 0, 0, 1, 0x26, 0x01, 0xaf};
	psn = cr_annexb_param_sets(CR_CODEC_H265, au265, sizeof(au265), ps, sizeof(ps));
	n = cr_sdp_plain_rtp(ans, sizeof(ans), "cam", "127.0.0.1", 5004, CR_CODEC_H265, 96, 90000, ps, psn);
	CHECK(psn == 3 * 7 && n > 0 && strstr(ans, "a=fmtp:96 sprop-vps=QAEM;sprop-sps=QgEB;sprop-pps=RAHB\r\n"),
	      "H.265 SDP: sprop-vps, sprop-sps, sprop-pps:\n%s", ans);
	CHECK(cr_annexb_param_sets(CR_CODEC_H264, au264, sizeof(au264), ps, 10) == 0,
	      "parameter sets that do not fit: none");
	/* Every bad offer in the corpus either fails to parse or lacks what WHEP needs (tested end to end). */
	const char *bad = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264\r\n";
	CHECK(cr_sdp_parse_offer(bad, strlen(bad), &o, err, sizeof(err)) < 0 && strstr(err, "rtpmap"),
	      "bad rtpmap explained: %s", err);
}

/* ---- SRTP and DTLS ---- */

/* The hand-written OpenSSL sender (net/srtp_tx.c) must give libsrtp2's
 * bytes: both profiles, sequence numbers across a rollover, CSRCs and a
 * header extension, an RTX SSRC interleaved, an old packet resent. */
static void test_srtp_tx_matches_libsrtp(void)
{
	for (int prof = CR_SRTP_AES128_CM_SHA1_80; prof <= CR_SRTP_AEAD_AES_128_GCM; prof++) {
		char err[256];
		struct cr_srtp_keys_s k = {.profile = prof, .len = prof == CR_SRTP_AEAD_AES_128_GCM ? 28 : 30};
		for (int i = 0; i < 30; i++)
			k.local[i] = (uint8_t)(7 * i + prof), k.remote[i] = (uint8_t)(3 * i);
		struct cr_srtp_s *s = cr_srtp_new(&k, err, sizeof(err));
		CHECK(s != NULL, "srtp session: %s", err);
		if (!s)
			return;
		int same = 0, same_from = 0, total = 0;
		uint16_t seq = 65530;
		for (int n = 0; n < 40; n++, seq++) {
			uint8_t a[1300 + CR_SRTP_MAX_TRAILER], b[sizeof(a)];
			bool rtx = n % 7 == 3, resend = n == 20;
			uint16_t q = resend ? (uint16_t)(seq - 12) : seq; /* 65534: before the rollover */
			size_t len = 40 + (size_t)n * 31;
			memset(a, 0, sizeof(a));
			a[0] = (uint8_t)(0x80 | (n % 3 == 1 ? 0x02 : 0) | (n % 4 == 2 ? 0x10 : 0)); /* CSRCs, extension */
			a[1] = rtx ? 97 : 96;
			a[2] = (uint8_t)(q >> 8), a[3] = (uint8_t)q;
			a[7] = (uint8_t)n;
			a[8] = 0x11, a[9] = 0x22, a[10] = 0x33, a[11] = rtx ? 0x45 : 0x44;
			size_t h = 12 + 4u * (a[0] & 0x0f);
			if (a[0] & 0x10)
				a[h] = 0xbe, a[h + 1] = 0xde, a[h + 3] = 2; /* two words of extension */
			for (size_t i = h + ((a[0] & 0x10) ? 12 : 0); i < len; i++)
				a[i] = (uint8_t)(i * 13 + (size_t)n);
			memcpy(b, a, sizeof(a));
			/* Out of place too: the header in its own buffer, the payload read from elsewhere. */
			uint8_t d[sizeof(a)], o[sizeof(a)];
			size_t hh = h + ((a[0] & 0x10) ? 12 : 0), ld = 0;
			memcpy(o, a, sizeof(a));
			memset(d, 0xee, sizeof(d));
			memcpy(d, a, hh);
			size_t la = len, lb = len;
			int ra = cr_srtp_protect(s, a, &la), rb = cr_srtp_protect_libsrtp(s, b, &lb);
			int rd = cr_srtp_protect_from(s, d, hh, o + hh, len - hh, &ld);
			total++;
			same += ra == 0 && rb == 0 && la == lb && memcmp(a, b, la) == 0;
			same_from += rd == 0 && ld == lb && memcmp(d, b, ld) == 0;
			if (resend)
				seq--; /* the resend took no new number */
		}
		CHECK(same == total, "%s: OpenSSL protect == libsrtp2 protect for %d of %d packets",
		      prof == CR_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80", same, total);
		CHECK(same_from == total, "%s: OpenSSL protect from a separate payload == libsrtp2 for %d of %d packets",
		      prof == CR_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80", same_from, total);
		/* SRTCP: sender reports of two SSRCs (each its own index), a PLI. */
		same = total = 0;
		for (int n = 0; n < 12; n++) {
			uint8_t a[200 + CR_SRTP_MAX_TRAILER], b[sizeof(a)];
			size_t la = n % 4 == 3 ? cr_rtcp_pli(a, sizeof(a), 0x11223344, 5)
					       : cr_rtcp_sender_report(a, sizeof(a), n % 2 ? 0x11223344 : 0x55667788,
								       (uint64_t)n << 32, (uint32_t)n * 3000, (uint32_t)n,
								       (uint32_t)n * 1000, "camrelay-test");
			memcpy(b, a, sizeof(a));
			size_t lb = la;
			int ra = cr_srtp_protect_rtcp(s, a, &la), rb = cr_srtp_protect_rtcp_libsrtp(s, b, &lb);
			total++;
			same += ra == 0 && rb == 0 && la == lb && memcmp(a, b, la) == 0;
		}
		CHECK(same == total, "%s: OpenSSL SRTCP protect == libsrtp2 for %d of %d packets",
		      prof == CR_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80", same, total);
		cr_srtp_free(s);
	}
}

static void test_srtp(void)
{
	for (int prof = CR_SRTP_AES128_CM_SHA1_80; prof <= CR_SRTP_AEAD_AES_128_GCM; prof++) {
		char err[256];
		struct cr_srtp_keys_s a = {.profile = prof, .len = prof == CR_SRTP_AEAD_AES_128_GCM ? 28 : 30}, b;
		for (int i = 0; i < 30; i++)
			a.local[i] = (uint8_t)i, a.remote[i] = (uint8_t)(100 + i);
		b = a;
		memcpy(b.local, a.remote, 30);
		memcpy(b.remote, a.local, 30);
		struct cr_srtp_s *sa = cr_srtp_new(&a, err, sizeof(err)), *sb = cr_srtp_new(&b, err, sizeof(err));
		CHECK(sa && sb, "srtp sessions: %s", err);
		if (!sa || !sb)
			return;
		uint8_t pkt[200 + CR_SRTP_MAX_TRAILER] = {0x80, 96, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef};
		for (int i = 12; i < 200; i++)
			pkt[i] = (uint8_t)i;
		uint8_t orig[200];
		memcpy(orig, pkt, 200);
		size_t l = 200;
		CHECK(cr_srtp_protect(sa, pkt, &l) == 0 && l > 200, "protect adds the tag (%zu)", l);
		uint8_t copy[sizeof(pkt)];
		memcpy(copy, pkt, l);
		size_t cl = l;
		CHECK(cr_srtp_unprotect(sb, pkt, &l) == 0 && l == 200 && memcmp(pkt, orig, 200) == 0, "unprotect");
		copy[50] ^= 1;
		CHECK(cr_srtp_unprotect(sb, copy, &cl) < 0, "tampered packet rejected");
		/* A NACK retransmission protects the same index again. */
		memcpy(pkt, orig, 200);
		l = 200;
		CHECK(cr_srtp_protect(sa, pkt, &l) == 0, "same index protected again (allow_repeat_tx)");
		uint8_t rtcp[64 + CR_SRTP_MAX_TRAILER];
		size_t rl = cr_rtcp_pli(rtcp, sizeof(rtcp), 5, 6);
		CHECK(cr_srtp_protect_rtcp(sb, rtcp, &rl) == 0 && cr_srtp_unprotect_rtcp(sa, rtcp, &rl) == 0 && rl == 12,
		      "SRTCP round trip");
		cr_srtp_free(sa);
		cr_srtp_free(sb);
	}
}

struct _dgrams_s {
	uint8_t data[32][2048];
	size_t len[32];
	int n;
};

static void _to_client(void *opaque, const uint8_t *p, size_t len)
{
	struct _dgrams_s *q = opaque;
	CHECK(len <= 1200, "datagram of %zu bytes fits the MTU", len);
	if (q->n < 32 && len <= 2048) {
		memcpy(q->data[q->n], p, len);
		q->len[q->n++] = len;
	}
}

static int _handshake(const char *client_fp_override, struct cr_srtp_keys_s *server_keys,
		      uint8_t client_km[60], bool *match_fp)
{
	char err[256];
	struct cr_dtls_ctx_s *ctx = cr_dtls_ctx_new(err, sizeof(err));
	CHECK(ctx != NULL, "DTLS context: %s", err);
	CHECK(strlen(cr_dtls_fingerprint(ctx)) == 95, "sha-256 fingerprint text");
	/* The client: OpenSSL with its own self-signed certificate. */
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"c", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_sign(x, key, EVP_sha256());
	unsigned char md[32];
	unsigned mdlen;
	X509_digest(x, EVP_sha256(), md, &mdlen);
	char fp[100];
	for (unsigned i = 0; i < mdlen; i++)
		sprintf(fp + 3 * i, "%02x%s", md[i], i + 1 < mdlen ? ":" : "");
	SSL_CTX *cctx = SSL_CTX_new(DTLS_client_method());
	SSL_CTX_use_certificate(cctx, x);
	SSL_CTX_use_PrivateKey(cctx, key);
	SSL_CTX_set_tlsext_use_srtp(cctx, "SRTP_AES128_CM_SHA1_80");
	SSL *c = SSL_new(cctx);
	BIO *crb = BIO_new(BIO_s_mem()), *cwb = BIO_new(BIO_s_mem());
	BIO_set_mem_eof_return(crb, -1);
	SSL_set_bio(c, crb, cwb);
	SSL_set_connect_state(c);
	static struct _dgrams_s q;
	q.n = 0;
	struct cr_dtls_s *d = cr_dtls_new(ctx, "sha-256", client_fp_override ? client_fp_override : fp, _to_client, &q);
	int server_done = 0, rounds = 0;
	while (rounds++ < 20 && server_done == 0) {
		SSL_do_handshake(c);
		uint8_t buf[16384];
		int n = BIO_read(cwb, buf, sizeof(buf));
		if (n > 0)
			server_done = cr_dtls_input(d, buf, (size_t)n);
		for (int i = 0; i < q.n; i++)
			BIO_write(crb, q.data[i], (int)q.len[i]);
		q.n = 0;
	}
	SSL_do_handshake(c);
	*match_fp = server_done == 1;
	int rc = -1;
	if (server_done == 1 && SSL_is_init_finished(c)) {
		rc = cr_dtls_srtp_keys(d, server_keys);
		SSL_export_keying_material(c, client_km, 60, "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0);
	}
	cr_dtls_free(d);
	SSL_free(c);
	SSL_CTX_free(cctx);
	X509_free(x);
	EVP_PKEY_free(key);
	cr_dtls_ctx_free(ctx);
	return rc;
}

static void test_dtls(void)
{
	struct cr_srtp_keys_s k;
	uint8_t km[60];
	bool ok;
	CHECK(_handshake(NULL, &k, km, &ok) == 0 && ok, "DTLS-SRTP handshake with a matching fingerprint");
	if (ok) {
		CHECK(k.profile == CR_SRTP_AES128_CM_SHA1_80 && k.len == 30, "profile AES128_CM_SHA1_80");
		CHECK(memcmp(k.remote, km, 16) == 0 && memcmp(k.local, km + 16, 16) == 0 &&
			      memcmp(k.remote + 16, km + 32, 14) == 0 && memcmp(k.local + 16, km + 46, 14) == 0,
		      "keys as RFC 5764 4.2 lays them out (server side)");
	}
	CHECK(_handshake("00:11:22", &k, km, &ok) < 0 && !ok, "a certificate that does not match the offer is refused");
}

/* ---- the fuzz seed corpus, replayed (under ASan in CI) ---- */

static void _dtls_send_nothing(void *opaque, const uint8_t *p, size_t len)
{
	(void)opaque, (void)p, (void)len;
}

static void test_corpus(const char *corpus)
{
	static const char *const kinds[] = {"sdp", "stun", "rtcp", "dtls"};
	char err[256];
	struct cr_dtls_ctx_s *ctx = cr_dtls_ctx_new(err, sizeof(err));
	int files = 0;
	for (size_t k = 0; k < 4; k++) {
		char dir[512];
		snprintf(dir, sizeof(dir), "%s/%s", corpus, kinds[k]);
		DIR *d = opendir(dir);
		CHECK(d != NULL, "corpus directory %s", dir);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			if (e->d_name[0] == '.')
				continue;
			char path[1024];
			size_t len;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			char *data = _read(path, &len);
			if (!data)
				continue;
			files++;
			const uint8_t *u = (const uint8_t *)data;
			if (k == 0) {
				static struct cr_sdp_offer_s o;
				int r = cr_sdp_parse_offer(data, len, &o, err, sizeof(err));
				if (strncmp(e->d_name, "good", 4) == 0)
					CHECK(r == 0, "%s parses: %s", e->d_name, err);
			} else if (k == 1) {
				struct cr_stun_msg_s m;
				int r = cr_stun_parse(u, len, &m);
				CHECK((r == 0) == (strncmp(e->d_name, "rfc5769", 7) == 0), "%s: %d", e->d_name, r);
			} else if (k == 2) {
				struct cr_rtcp_info_s ri;
				(void)cr_rtcp_parse(u, len, &ri);
			} else if (ctx) {
				struct cr_dtls_s *dt = cr_dtls_new(ctx, "sha-256", "", _dtls_send_nothing, NULL);
				for (size_t off = 0; off + 2 <= len;) {
					size_t n = (size_t)(u[off] << 8 | u[off + 1]);
					off += 2;
					if (n > len - off)
						n = len - off;
					if (cr_dtls_input(dt, u + off, n) < 0)
						break;
					off += n;
				}
				cr_dtls_free(dt);
			}
		}
		closedir(d);
	}
	CHECK(files >= 25, "corpus files replayed: %d", files);
	cr_dtls_ctx_free(ctx);
}

int main(int argc, char **argv)
{
	const char *corpus = argc > 1 ? argv[1] : "tests/webrtc/corpus";
	test_stun();
	test_h264();
	test_h265();
	test_vp8_vp9();
	test_av1();
	test_rtcp();
	test_sdp(corpus);
	test_srtp();
	test_srtp_tx_matches_libsrtp();
	test_dtls();
	test_corpus(corpus);
	if (failures)
		fprintf(stderr, "%d failure(s)\n", failures);
	else
		printf("all passed\n");
	return failures ? 1 : 0;
}

/* The WHIP offer and the server's answer; see whip.h. The answer is outside
 * input: net/sdp.c's parser (fuzzed) reads its sections, ICE and DTLS
 * attributes; what it leaves out (candidates, a=ice-lite, goog-remb) is read
 * here by hand, every copy bounded (fuzzed too: tests/fuzz/fuzz_whip_answer.c). */
#include "net/whip.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net/sdp.h"
#include "rtp/rtp.h"

#define _PUT(...) \
	do { \
		int _n = snprintf(out + off, cap > off ? cap - off : 0, __VA_ARGS__); \
		if (_n < 0 || (size_t)_n >= (cap > off ? cap - off : 0)) \
			return -ENOSPC; \
		off += (size_t)_n; \
	} while (0)

void cr_whip_addr_text(const struct sockaddr_in6 *a, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
		inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], ip, sizeof(ip));
		snprintf(out, n, "%s:%u", ip, ntohs(a->sin6_port));
	} else {
		inet_ntop(AF_INET6, &a->sin6_addr, ip, sizeof(ip));
		snprintf(out, n, "[%s]:%u", ip, ntohs(a->sin6_port));
	}
}

static void _ip_text(const struct sockaddr_in6 *a, char *out, size_t n)
{
	if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr))
		inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], out, (socklen_t)n);
	else
		inet_ntop(AF_INET6, &a->sin6_addr, out, (socklen_t)n);
}

/* a=candidate lines of o's local candidates from `first` on (foundation:
 * the index + 1, the same in the offer and in later fragments). */
static int _put_cands(const struct cr_whip_offer_s *o, int first, char *out, size_t cap)
{
	size_t off = 0;
	for (int i = first; i < o->n_local; i++) {
		char ip[INET6_ADDRSTRLEN];
		_ip_text(&o->local[i].addr, ip, sizeof(ip));
		_PUT("a=candidate:%d 1 udp %u %s %u typ %s", i + 1, o->local[i].priority, ip,
		     ntohs(o->local[i].addr.sin6_port), o->local[i].type);
		if (strcmp(o->local[i].type, "host") != 0)
			_PUT(" raddr 0.0.0.0 rport 0");
		_PUT("\r\n");
	}
	return (int)off;
}

int cr_whip_build_offer(const struct cr_whip_offer_s *o, char *out, size_t cap)
{
	size_t off = 0;
	const char *name = cr_rtp_encoding_name(o->codec);
	if (!name)
		return -EINVAL;
	_PUT("v=0\r\no=- %llu 2 IN IP4 127.0.0.1\r\ns=camrelay\r\nt=0 0\r\n", (unsigned long long)o->session_id);
	_PUT("a=group:BUNDLE 0%s\r\na=ice-options:trickle\r\na=msid-semantic: WMS camrelay\r\n",
	     o->audio_pt >= 0 ? " 1" : "");
	_PUT("m=video 9 UDP/TLS/RTP/SAVPF %d", o->pt);
	if (o->rtx_pt >= 0)
		_PUT(" %d", o->rtx_pt);
	_PUT("\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n");
	_PUT("a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", o->ufrag, o->pwd);
	/* An offer says actpass (RFC 8842 5.2, JSEP; aiortc refuses anything
	 * else); most WHIP servers answer passive, making camrelay the DTLS
	 * client, some (aiortc) active. */
	_PUT("a=fingerprint:sha-256 %s\r\na=setup:actpass\r\n", o->fingerprint);
	_PUT("a=mid:0\r\na=sendonly\r\na=rtcp-mux\r\na=rtcp-rsize\r\n");
	_PUT("a=extmap:%d %s\r\n", CR_WHIP_TWCC_ID, CR_WHIP_TWCC_URI);
	_PUT("a=msid:camrelay %s\r\n", o->stream);
	_PUT("a=rtpmap:%d %s/90000\r\n", o->pt, name);
	if (o->fmtp && o->fmtp[0])
		_PUT("a=fmtp:%d %s\r\n", o->pt, o->fmtp);
	_PUT("a=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\na=rtcp-fb:%d ccm fir\r\na=rtcp-fb:%d goog-remb\r\n",
	     o->pt, o->pt, o->pt, o->pt);
	_PUT("a=rtcp-fb:%d transport-cc\r\n", o->pt);
	if (o->rtx_pt >= 0) {
		_PUT("a=rtpmap:%d rtx/90000\r\na=fmtp:%d apt=%d\r\n", o->rtx_pt, o->rtx_pt, o->pt);
		_PUT("a=ssrc-group:FID %u %u\r\n", o->ssrc, o->rtx_ssrc);
	}
	_PUT("a=ssrc:%u cname:camrelay-%s\r\na=ssrc:%u msid:camrelay %s\r\n", o->ssrc, o->stream, o->ssrc,
	     o->stream);
	if (o->rtx_pt >= 0)
		_PUT("a=ssrc:%u cname:camrelay-%s\r\na=ssrc:%u msid:camrelay %s\r\n", o->rtx_ssrc, o->stream,
		     o->rtx_ssrc, o->stream);
	int n = _put_cands(o, 0, out + off, cap - off);
	if (n < 0)
		return n;
	off += (size_t)n;
	if (!o->trickling)
		_PUT("a=end-of-candidates\r\n");
	if (o->audio_pt < 0)
		return (int)off;
	/* The audio, bundled with the video (its candidates are the video's). */
	_PUT("m=audio 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n", o->audio_pt);
	_PUT("a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", o->ufrag, o->pwd);
	_PUT("a=fingerprint:sha-256 %s\r\na=setup:actpass\r\n", o->fingerprint);
	_PUT("a=mid:1\r\na=sendonly\r\na=rtcp-mux\r\na=msid:camrelay %s-audio\r\n", o->stream);
	/* RFC 7587 7: the rtpmap always says 2 channels; sprop-stereo says what is sent. */
	_PUT("a=rtpmap:%d opus/48000/2\r\na=fmtp:%d minptime=10;useinbandfec=%d;sprop-stereo=%d\r\n", o->audio_pt,
	     o->audio_pt, o->audio_fec ? 1 : 0, o->audio_channels > 1 ? 1 : 0);
	_PUT("a=ssrc:%u cname:camrelay-%s\r\na=ssrc:%u msid:camrelay %s-audio\r\n", o->audio_ssrc, o->stream,
	     o->audio_ssrc, o->stream);
	return (int)off;
}

int cr_whip_build_frag(const struct cr_whip_offer_s *o, int first, char *out, size_t cap)
{
	size_t off = 0;
	_PUT("a=ice-options:trickle\r\na=group:BUNDLE 0\r\nm=video 9 UDP/TLS/RTP/SAVPF %d\r\na=mid:0\r\n", o->pt);
	_PUT("a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", o->ufrag, o->pwd);
	int n = _put_cands(o, first, out + off, cap - off);
	if (n < 0)
		return n;
	off += (size_t)n;
	_PUT("a=end-of-candidates\r\n");
	return (int)off;
}

/* Next space-separated token of [*p, end) into out (cut to n-1). */
static bool _tok(const char **p, const char *end, char *out, size_t n)
{
	const char *s = *p;
	while (s < end && *s == ' ')
		s++;
	const char *e = s;
	while (e < end && *e != ' ')
		e++;
	*p = e;
	size_t l = (size_t)(e - s);
	if (l == 0 || l >= n)
		return false;
	memcpy(out, s, l);
	out[l] = 0;
	return true;
}

bool cr_whip_parse_candidate(const char *v, size_t len, struct cr_whip_cand_s *c)
{
	const char *p = v, *end = v + len;
	char found[40], comp[8], proto[8], prio[16], ip[64], port[8], typ[8], type[8];
	if (!_tok(&p, end, found, sizeof(found)) || !_tok(&p, end, comp, sizeof(comp)) ||
	    !_tok(&p, end, proto, sizeof(proto)) || !_tok(&p, end, prio, sizeof(prio)) ||
	    !_tok(&p, end, ip, sizeof(ip)) || !_tok(&p, end, port, sizeof(port)) ||
	    !_tok(&p, end, typ, sizeof(typ)) || !_tok(&p, end, type, sizeof(type)))
		return false;
	if (strcmp(comp, "1") != 0 || strcasecmp(proto, "udp") != 0 || strcmp(typ, "typ") != 0)
		return false;
	char *e;
	unsigned long pr = strtoul(prio, &e, 10), po = strtoul(port, &e, 10);
	if (*e || po == 0 || po > 65535 || pr > 0xffffffffUL)
		return false;
	memset(c, 0, sizeof(*c));
	c->addr.sin6_family = AF_INET6;
	c->addr.sin6_port = htons((uint16_t)po);
	struct in_addr a4;
	if (inet_pton(AF_INET, ip, &a4) == 1) {
		c->addr.sin6_addr.s6_addr[10] = c->addr.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&c->addr.sin6_addr.s6_addr[12], &a4, 4);
	} else if (inet_pton(AF_INET6, ip, &c->addr.sin6_addr) != 1 || IN6_IS_ADDR_LINKLOCAL(&c->addr.sin6_addr)) {
		return false; /* mDNS names (.local) and link-local need more than this agent does */
	}
	c->priority = (uint32_t)pr;
	snprintf(c->type, sizeof(c->type), "%s", type);
	return true;
}

static int _fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int _fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "a=extmap:<id>[/<direction>] <uri>[ ...]" naming transport-cc: its id (1..14), else 0. */
static int _twcc_extmap(const char *p, size_t l)
{
	size_t ul = strlen(CR_WHIP_TWCC_URI);
	if (l < 9 || memcmp(p, "a=extmap:", 9) != 0)
		return 0;
	int id = 0;
	size_t i = 9;
	for (; i < l && p[i] >= '0' && p[i] <= '9' && id < 1000; i++)
		id = id * 10 + (p[i] - '0');
	while (i < l && p[i] != ' ')
		i++; /* a direction */
	if (i + 1 + ul > l || memcmp(p + i + 1, CR_WHIP_TWCC_URI, ul) != 0 || (i + 1 + ul < l && p[i + 1 + ul] != ' '))
		return 0;
	return id >= 1 && id <= 14 ? id : 0;
}

/* What net/sdp.c does not keep: candidates, a=ice-lite, goog-remb, transport-cc. */
static void _scan_lines(const char *text, size_t len, int pt, struct cr_whip_answer_s *a)
{
	const char *p = text, *end = text + len;
	char remb[32], tcc[40];
	int n = snprintf(remb, sizeof(remb), "a=rtcp-fb:%d goog-remb", pt);
	int nt = snprintf(tcc, sizeof(tcc), "a=rtcp-fb:%d transport-cc", pt);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		size_t l = (size_t)(le - p);
		if (l && p[l - 1] == '\r')
			l--;
		if (l == 10 && memcmp(p, "a=ice-lite", 10) == 0)
			a->ice_lite = true;
		else if ((size_t)n == l && memcmp(p, remb, l) == 0)
			a->remb = true;
		else if ((size_t)nt == l && memcmp(p, tcc, l) == 0)
			a->twcc_fb = true;
		else if (_twcc_extmap(p, l))
			a->twcc_id = _twcc_extmap(p, l);
		else if (l > 12 && memcmp(p, "a=candidate:", 12) == 0 && a->n_cands < CR_WHIP_MAX_CANDS &&
			 cr_whip_parse_candidate(p + 12, l - 12, &a->cands[a->n_cands]))
			a->n_cands++;
		p = nl ? nl + 1 : end;
	}
}

/* The offer's audio payload type when the answer's second section takes it
 * (audio, a port, Opus at that type), else -1: the video goes alone. */
static int _audio_taken(const struct cr_sdp_offer_s *s, const struct cr_whip_offer_s *o)
{
	if (o->audio_pt < 0 || s->n_media < 2)
		return -1;
	const struct cr_sdp_media_s *m = &s->media[1];
	if (strcmp(m->type, "audio") != 0 || m->port == 0 || strcmp(m->direction, "sendonly") == 0 ||
	    strcmp(m->direction, "inactive") == 0)
		return -1;
	for (int i = 0; i < m->n_fmts; i++)
		if (m->fmts[i].pt == o->audio_pt && strcasecmp(m->fmts[i].name, "opus") == 0)
			return o->audio_pt;
	return -1;
}

int cr_whip_parse_answer(const char *text, size_t len, const struct cr_whip_offer_s *o,
			 struct cr_whip_answer_s *a, char *err, size_t errlen)
{
	struct cr_sdp_offer_s *s = calloc(1, sizeof(*s));
	char why[240];
	int rc = 0;
	memset(a, 0, sizeof(*a));
	a->rtx_pt = a->audio_pt = -1;
	if (!s)
		return _fail(err, errlen, "out of memory");
	if (cr_sdp_parse_offer(text, len, s, why, sizeof(why)) < 0) {
		/* Its messages speak of an offer: here it is the answer. */
		const char *w = strncmp(why, "SDP offer ", 10) == 0 ? why + 10 : why;
		rc = _fail(err, errlen, "the answer is not valid SDP: %s", w);
		goto out;
	}
	const struct cr_sdp_media_s *m = &s->media[0];
	int offered = o->audio_pt >= 0 ? 2 : 1;
	if (s->n_media < 1 || s->n_media > offered || strcmp(m->type, "video") != 0) {
		rc = _fail(err, errlen, "the answer has %d media sections, expected the %s offered", s->n_media,
			   offered == 2 ? "video and audio sections" : "one video section");
		goto out;
	}
	a->audio_pt = _audio_taken(s, o);
	const struct cr_sdp_fmt_s *f = NULL;
	for (int i = 0; i < m->n_fmts; i++)
		if (m->fmts[i].pt == o->pt)
			f = &m->fmts[i];
	if (m->port == 0 || !f) {
		rc = _fail(err, errlen, "the server rejected the video (%s %s/90000 offered as payload type %d)",
			   m->port == 0 ? "port 0 for" : "no payload type for", cr_rtp_encoding_name(o->codec), o->pt);
		goto out;
	}
	if (!m->ufrag[0] || !m->pwd[0]) {
		rc = _fail(err, errlen, "the answer has no a=ice-ufrag/a=ice-pwd");
		goto out;
	}
	if (strcasecmp(m->fp_alg, "sha-256") != 0 || !m->fingerprint[0]) {
		rc = _fail(err, errlen, "the answer has no a=fingerprint:sha-256 (got \"%.16s\")", m->fp_alg);
		goto out;
	}
	if (m->setup[0] && strcmp(m->setup, "passive") != 0 && strcmp(m->setup, "active") != 0) {
		rc = _fail(err, errlen, "the answer says a=setup:%.16s (allowed in an answer: active, passive)", m->setup);
		goto out;
	}
	snprintf(a->ufrag, sizeof(a->ufrag), "%s", m->ufrag);
	snprintf(a->pwd, sizeof(a->pwd), "%s", m->pwd);
	snprintf(a->fingerprint, sizeof(a->fingerprint), "%s", m->fingerprint);
	snprintf(a->setup, sizeof(a->setup), "%s", m->setup);
	a->pt = f->pt;
	a->nack = f->nack;
	a->pli = f->pli;
	a->fir = f->fir;
	for (int i = 0; i < m->n_fmts && o->rtx_pt >= 0; i++)
		if (m->fmts[i].pt == o->rtx_pt && strcasecmp(m->fmts[i].name, "rtx") == 0)
			a->rtx_pt = o->rtx_pt;
	_scan_lines(text, len, o->pt, a);
	if (a->n_cands == 0)
		rc = _fail(err, errlen, "the answer has no usable ICE candidate (UDP, component 1, an IP address)");
out:
	free(s);
	return rc;
}

/* ice-char (RFC 8839 5.4): ALPHA / DIGIT / "+" / "/". */
static bool _ice_chars(const char *p, size_t l)
{
	for (size_t i = 0; i < l; i++) {
		char c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return false;
	}
	return true;
}

/* "a=<name>:<value>" with value within [min, cap) ice-chars into out. */
static int _frag_cred(const char *p, size_t l, const char *name, size_t min, char *out, size_t cap, char *err,
		      size_t errlen)
{
	size_t nl = strlen(name);
	if (l - nl < min || l - nl >= cap || !_ice_chars(p + nl, l - nl))
		return _fail(err, errlen, "the fragment's %.*s is not %zu to %zu ICE characters", (int)(nl - 3), name + 2,
			     min, cap - 1);
	memcpy(out, p + nl, l - nl);
	out[l - nl] = 0;
	return 0;
}

/* Written by hand: the fragment is a few SDP lines (RFC 8840 9.2) that
 * net/sdp.c, which wants a whole description, does not take. Lines this
 * agent has no use for (m=, a=mid, a=group, a=ice-options) are skipped. */
int cr_whip_parse_frag(const char *text, size_t len, struct cr_whip_frag_s *f, char *err, size_t errlen)
{
	const char *p = text, *end = text + len;
	int line = 0;
	memset(f, 0, sizeof(*f));
	if (memchr(text, 0, len))
		return _fail(err, errlen, "the fragment has a NUL byte");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *le = nl ? nl : end;
		size_t l = (size_t)(le - p);
		line++;
		if (l && p[l - 1] == '\r')
			l--;
		if (l && (l < 2 || p[1] != '=' || p[0] < 'a' || p[0] > 'z'))
			return _fail(err, errlen, "line %d of the fragment is not an SDP line (<letter>=<value>)", line);
		if (l > 12 && memcmp(p, "a=ice-ufrag:", 12) == 0) {
			if (_frag_cred(p, l, "a=ice-ufrag:", 4, f->ufrag, sizeof(f->ufrag), err, errlen) < 0)
				return -EINVAL;
		} else if (l > 10 && memcmp(p, "a=ice-pwd:", 10) == 0) {
			if (_frag_cred(p, l, "a=ice-pwd:", 22, f->pwd, sizeof(f->pwd), err, errlen) < 0)
				return -EINVAL;
		} else if (l == 10 && memcmp(p, "a=ice-lite", 10) == 0) {
			f->ice_lite = true;
		} else if (l == 19 && memcmp(p, "a=end-of-candidates", 19) == 0) {
			f->end = true;
		} else if (l > 12 && memcmp(p, "a=candidate:", 12) == 0 && f->n_cands < CR_WHIP_MAX_CANDS &&
			   cr_whip_parse_candidate(p + 12, l - 12, &f->cands[f->n_cands])) {
			f->n_cands++;
		}
		p = nl ? nl + 1 : end;
	}
	if (!f->ufrag[0] != !f->pwd[0])
		return _fail(err, errlen, "the fragment has a=ice-%s without a=ice-%s", f->ufrag[0] ? "ufrag" : "pwd",
			     f->ufrag[0] ? "pwd" : "ufrag");
	return 0;
}

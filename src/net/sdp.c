/* SDP offer parsing and answer building; see sdp.h. Parses outside input:
 * every copy is bounded, every number range-checked (fuzzed). */
#include "net/sdp.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audio/audio.h"
#include "rtp/rtp.h"

static int _fail(char *err, size_t errlen, int line, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "SDP offer line %d: %s", line, msg);
	return -EINVAL;
}

/* Copies a token of at most n-1 bytes; false when it does not fit. */
static bool _copy(char *dst, size_t n, const char *src, size_t len)
{
	if (len >= n)
		return false;
	memcpy(dst, src, len);
	dst[len] = 0;
	return true;
}

static bool _parse_int(const char *s, size_t len, int lo, int hi, int *out)
{
	if (len == 0 || len > 9)
		return false;
	int v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

/* Next space-separated token of [*p, end). */
static bool _token(const char **p, const char *end, const char **tok, size_t *len)
{
	const char *s = *p;
	while (s < end && *s == ' ')
		s++;
	const char *e = s;
	while (e < end && *e != ' ')
		e++;
	*tok = s;
	*len = (size_t)(e - s);
	*p = e;
	return *len > 0;
}

static struct cr_sdp_fmt_s *_fmt(struct cr_sdp_media_s *m, int pt)
{
	for (int i = 0; i < m->n_fmts; i++)
		if (m->fmts[i].pt == pt)
			return &m->fmts[i];
	return NULL;
}

static bool _has_prefix(const char *s, size_t len, const char *prefix, const char **rest)
{
	size_t n = strlen(prefix);
	if (len < n || memcmp(s, prefix, n) != 0)
		return false;
	*rest = s + n;
	return true;
}

struct _ice_s {
	char ufrag[64], pwd[128], fp_alg[16], fingerprint[200], setup[16];
};

static int _attr(struct cr_sdp_media_s *m, struct _ice_s *sess, const char *v, size_t len, int ln,
		 char *err, size_t errlen)
{
	const char *r, *end = v + len;
	char *ufrag = m ? m->ufrag : sess->ufrag, *pwd = m ? m->pwd : sess->pwd;
	char *fp_alg = m ? m->fp_alg : sess->fp_alg, *fp = m ? m->fingerprint : sess->fingerprint;
	char *setup = m ? m->setup : sess->setup;
	if (_has_prefix(v, len, "ice-ufrag:", &r)) {
		if (!_copy(ufrag, 64, r, (size_t)(end - r)))
			return _fail(err, errlen, ln, "ice-ufrag too long");
	} else if (_has_prefix(v, len, "ice-pwd:", &r)) {
		if (!_copy(pwd, 128, r, (size_t)(end - r)))
			return _fail(err, errlen, ln, "ice-pwd too long");
	} else if (_has_prefix(v, len, "fingerprint:", &r)) {
		const char *tok;
		size_t tl;
		if (!_token(&r, end, &tok, &tl) || !_copy(fp_alg, 16, tok, tl) ||
		    !_token(&r, end, &tok, &tl) || !_copy(fp, 200, tok, tl))
			return _fail(err, errlen, ln, "bad fingerprint (expected \"a=fingerprint:sha-256 AB:CD:...\")");
	} else if (_has_prefix(v, len, "setup:", &r)) {
		if (!_copy(setup, 16, r, (size_t)(end - r)))
			return _fail(err, errlen, ln, "bad setup");
	} else if (!m) {
		return 0; /* other session attributes do not matter here */
	} else if (_has_prefix(v, len, "mid:", &r)) {
		if (!_copy(m->mid, sizeof(m->mid), r, (size_t)(end - r)))
			return _fail(err, errlen, ln, "mid too long");
	} else if (_has_prefix(v, len, "sctp-port:", &r)) {
		if (!_parse_int(r, (size_t)(end - r), 1, 65535, &m->sctp_port))
			return _fail(err, errlen, ln, "bad sctp-port (expected 1..65535)");
	} else if (_has_prefix(v, len, "sctpmap:", &r)) {
		/* draft-ietf-mmusic-sctp-sdp-05: a=sctpmap:5000 webrtc-datachannel 65535 */
		const char *tok;
		size_t tl;
		if (!_token(&r, end, &tok, &tl) || !_parse_int(tok, tl, 1, 65535, &m->sctp_port))
			return _fail(err, errlen, ln, "bad sctpmap (expected \"a=sctpmap:5000 webrtc-datachannel 1024\")");
		m->sctpmap = _token(&r, end, &tok, &tl) && tl == 18 && memcmp(tok, "webrtc-datachannel", 18) == 0;
	} else if (_has_prefix(v, len, "max-message-size:", &r)) {
		int64_t mm = 0;
		for (const char *q = r; q < end; q++) {
			if (*q < '0' || *q > '9' || mm > 1000000000000LL)
				return _fail(err, errlen, ln, "bad max-message-size");
			mm = mm * 10 + (*q - '0');
		}
		/* 0 means "any size" (RFC 8841 6): kept as the largest. */
		m->max_message_size = r == end ? 0 : mm == 0 ? UINT64_MAX : (uint64_t)mm;
	} else if (_has_prefix(v, len, "extmap:", &r)) {
		/* a=extmap:<id>[/<direction>] <uri> [...]: only transport-cc's id is kept */
		const char *tok, *u;
		size_t tl, ul;
		int id;
		const char *slash = memchr(r, '/', (size_t)(end - r));
		if (!_token(&r, end, &tok, &tl))
			return _fail(err, errlen, ln, "bad extmap (expected \"a=extmap:3 <uri>\")");
		if (slash && slash < tok + tl)
			tl = (size_t)(slash - tok);
		if (_token(&r, end, &u, &ul) && ul == strlen(CR_SDP_TWCC_URI) && memcmp(u, CR_SDP_TWCC_URI, ul) == 0 &&
		    _parse_int(tok, tl, 1, 14, &id))
			m->twcc_ext = id;
	} else if (len == 8 && memcmp(v, "rtcp-mux", 8) == 0) {
		m->rtcp_mux = true;
	} else if ((len == 8 && (memcmp(v, "sendrecv", 8) == 0 || memcmp(v, "recvonly", 8) == 0 ||
				 memcmp(v, "sendonly", 8) == 0 || memcmp(v, "inactive", 8) == 0))) {
		_copy(m->direction, sizeof(m->direction), v, len);
	} else if (_has_prefix(v, len, "rtpmap:", &r) || _has_prefix(v, len, "fmtp:", &r) ||
		   _has_prefix(v, len, "rtcp-fb:", &r)) {
		char kind = v[0] == 'r' && v[1] == 't' && v[2] == 'p' ? 'm' : v[0] == 'f' ? 'f' : 'b';
		const char *tok;
		size_t tl;
		int pt;
		if (!_token(&r, end, &tok, &tl))
			return _fail(err, errlen, ln, "missing payload type");
		if (kind == 'b' && tl == 1 && tok[0] == '*') {
			pt = -1;
		} else if (!_parse_int(tok, tl, 0, 127, &pt)) {
			return _fail(err, errlen, ln, "bad payload type \"%.*s\"", (int)(tl > 16 ? 16 : tl), tok);
		}
		while (r < end && *r == ' ')
			r++;
		for (int i = 0; i < m->n_fmts; i++) {
			struct cr_sdp_fmt_s *f = &m->fmts[i];
			if (pt >= 0 && f->pt != pt)
				continue;
			if (kind == 'm') {
				const char *slash = memchr(r, '/', (size_t)(end - r));
				if (!slash || !_copy(f->name, sizeof(f->name), r, (size_t)(slash - r)))
					return _fail(err, errlen, ln, "bad rtpmap (expected \"a=rtpmap:96 H264/90000\")");
				const char *c = slash + 1, *ce = memchr(c, '/', (size_t)(end - c));
				if (!ce)
					ce = end;
				if (!_parse_int(c, (size_t)(ce - c), 1, 10000000, &f->clock))
					return _fail(err, errlen, ln, "bad clock rate in rtpmap");
			} else if (kind == 'f') {
				if (!_copy(f->fmtp, sizeof(f->fmtp), r, (size_t)(end - r)))
					return _fail(err, errlen, ln, "fmtp too long");
			} else {
				size_t n = (size_t)(end - r);
				if (n == 4 && memcmp(r, "nack", 4) == 0)
					f->nack = true;
				else if (n == 8 && memcmp(r, "nack pli", 8) == 0)
					f->pli = true;
				else if (n == 8 && memcmp(r, "ccm fir", 7) == 0)
					f->fir = true;
				else if (n == 12 && memcmp(r, "transport-cc", 12) == 0)
					f->twcc = true;
				else if (n == 9 && memcmp(r, "goog-remb", 9) == 0)
					f->remb = true;
			}
		}
	}
	return 0;
}

int cr_sdp_parse_offer(const char *text, size_t len, struct cr_sdp_offer_s *o, char *err,
		       size_t errlen)
{
	memset(o, 0, sizeof(*o));
	struct _ice_s sess;
	memset(&sess, 0, sizeof(sess));
	const char *p = text, *end = text + len;
	struct cr_sdp_media_s *m = NULL;
	int ln = 0;
	if (len == 0)
		return _fail(err, errlen, 0, "empty body (expected an SDP offer)");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		const char *next = nl ? nl + 1 : end;
		if (le > p && le[-1] == '\r')
			le--;
		ln++;
		size_t ll = (size_t)(le - p);
		if (ll == 0) {
			p = next;
			continue;
		}
		if (ll < 2 || p[1] != '=' || p[0] < 'a' || p[0] > 'z')
			return _fail(err, errlen, ln, "not an SDP line (expected \"x=...\")");
		if (memchr(p, 0, ll))
			return _fail(err, errlen, ln, "NUL byte");
		if (ln == 1 && !(ll == 3 && memcmp(p, "v=0", 3) == 0))
			return _fail(err, errlen, ln, "an SDP offer starts with \"v=0\"");
		const char *v = p + 2;
		size_t vl = ll - 2;
		if (p[0] == 'm') {
			if (o->n_media == CR_SDP_MAX_MEDIA)
				return _fail(err, errlen, ln, "more than %d media sections", CR_SDP_MAX_MEDIA);
			m = &o->media[o->n_media++];
			const char *r = v, *ve = v + vl, *tok;
			size_t tl;
			if (!_token(&r, ve, &tok, &tl) || !_copy(m->type, sizeof(m->type), tok, tl) ||
			    !_token(&r, ve, &tok, &tl) || !_parse_int(tok, tl, 0, 65535, &m->port) ||
			    !_token(&r, ve, &tok, &tl) || !_copy(m->proto, sizeof(m->proto), tok, tl))
				return _fail(err, errlen, ln, "bad m= line (expected \"m=video 9 UDP/TLS/RTP/SAVPF 96 ...\")");
			bool first = true;
			while (_token(&r, ve, &tok, &tl)) {
				if (first && !_copy(m->first_fmt, sizeof(m->first_fmt), tok, tl))
					return _fail(err, errlen, ln, "bad format in m= line");
				first = false;
				int pt;
				if (!strstr(m->proto, "RTP"))
					continue;
				if (!_parse_int(tok, tl, 0, 127, &pt))
					return _fail(err, errlen, ln, "bad payload type in m= line");
				if (m->n_fmts < CR_SDP_MAX_FMTS && !_fmt(m, pt))
					m->fmts[m->n_fmts++].pt = pt;
			}
			if (first)
				return _fail(err, errlen, ln, "m= line without formats");
		} else if (p[0] == 'a') {
			int r = _attr(m, &sess, v, vl, ln, err, errlen);
			if (r < 0)
				return r;
		}
		p = next;
	}
	if (o->n_media == 0)
		return _fail(err, errlen, ln, "no media section (m=)");
	for (int i = 0; i < o->n_media; i++) {
		struct cr_sdp_media_s *mm = &o->media[i];
		if (!mm->ufrag[0])
			snprintf(mm->ufrag, sizeof(mm->ufrag), "%s", sess.ufrag);
		if (!mm->pwd[0])
			snprintf(mm->pwd, sizeof(mm->pwd), "%s", sess.pwd);
		if (!mm->fingerprint[0]) {
			snprintf(mm->fp_alg, sizeof(mm->fp_alg), "%s", sess.fp_alg);
			snprintf(mm->fingerprint, sizeof(mm->fingerprint), "%s", sess.fingerprint);
		}
		if (!mm->setup[0])
			snprintf(mm->setup, sizeof(mm->setup), "%s", sess.setup);
	}
	return 0;
}

bool cr_sdp_fmtp_get(const char *fmtp, const char *key, char *val, size_t vallen)
{
	size_t kl = strlen(key);
	const char *p = fmtp;
	while (*p) {
		while (*p == ' ' || *p == ';')
			p++;
		const char *e = strchr(p, ';');
		if (!e)
			e = p + strlen(p);
		if ((size_t)(e - p) > kl && strncasecmp(p, key, kl) == 0 && p[kl] == '=') {
			_copy(val, vallen, p + kl + 1, (size_t)(e - p - kl - 1) < vallen ? (size_t)(e - p - kl - 1) : vallen - 1);
			return true;
		}
		p = e;
	}
	return false;
}

static int _rtx_for(const struct cr_sdp_media_s *m, int pt)
{
	char apt[8];
	for (int i = 0; i < m->n_fmts; i++)
		if (strcasecmp(m->fmts[i].name, "rtx") == 0 &&
		    cr_sdp_fmtp_get(m->fmts[i].fmtp, "apt", apt, sizeof(apt)) && atoi(apt) == pt)
			return m->fmts[i].pt;
	return -1;
}

int cr_sdp_match(const struct cr_sdp_media_s *m, const struct cr_sdp_want_s *want, char *fmtp,
		 size_t fmtp_len, int *rtx_pt)
{
	const char *name = cr_rtp_encoding_name(want->codec);
	int best = -1, best_score = -1;
	if (!name)
		return -1;
	for (int i = 0; i < m->n_fmts; i++) {
		const struct cr_sdp_fmt_s *f = &m->fmts[i];
		char v[32];
		if (strcasecmp(f->name, name) != 0 || f->clock != 90000)
			continue;
		int score = 1;
		if (want->codec == CR_CODEC_H264) {
			if (!cr_sdp_fmtp_get(f->fmtp, "packetization-mode", v, sizeof(v)) || atoi(v) != 1)
				continue;
			if (!cr_sdp_fmtp_get(f->fmtp, "profile-level-id", v, sizeof(v)) || strlen(v) != 6)
				continue;
			unsigned long id = strtoul(v, NULL, 16);
			uint8_t pidc = (uint8_t)(id >> 16), cons = (uint8_t)(id >> 8);
			uint8_t want_p = want->profile_idc ? want->profile_idc : 0x42;
			uint8_t want_c = want->profile_idc ? want->constraint_flags : 0xe0;
			bool want_cb = want_p == 0x42 || (want_p == 0x4d && (want_c & 0x80));
			bool offer_cb = pidc == 0x42 || (pidc == 0x4d && (cons & 0x80));
			if (pidc == want_p && cons == want_c)
				score = 3;
			else if (pidc == want_p || (want_cb && offer_cb))
				score = 2;
			else
				continue;
		} else if (want->codec == CR_CODEC_VP9) {
			if (cr_sdp_fmtp_get(f->fmtp, "profile-id", v, sizeof(v)) && atoi(v) != 0)
				continue;
		} else if (want->codec == CR_CODEC_AV1) {
			if (cr_sdp_fmtp_get(f->fmtp, "profile", v, sizeof(v)) && atoi(v) != 0)
				continue;
		} else if (want->codec == CR_CODEC_H265) {
			if (cr_sdp_fmtp_get(f->fmtp, "profile-id", v, sizeof(v)) && atoi(v) != 1)
				continue;
		}
		if (score > best_score) {
			best = i;
			best_score = score;
		}
	}
	if (best < 0)
		return -1;
	const struct cr_sdp_fmt_s *f = &m->fmts[best];
	if (want->codec == CR_CODEC_H264) {
		char id[16];
		cr_sdp_fmtp_get(f->fmtp, "profile-level-id", id, sizeof(id));
		snprintf(fmtp, fmtp_len, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=%s", id);
	} else {
		snprintf(fmtp, fmtp_len, "%s", f->fmtp);
	}
	*rtx_pt = _rtx_for(m, f->pt);
	return best;
}

#define _PUT(...) \
	do { \
		int _n = snprintf(out + off, cap > off ? cap - off : 0, __VA_ARGS__); \
		if (_n < 0 || (size_t)_n >= (cap > off ? cap - off : 0)) \
			return -ENOSPC; \
		off += (size_t)_n; \
	} while (0)

static int _candidates(char *out, size_t cap, const struct cr_sdp_answer_s *a)
{
	size_t off = 0;
	for (int c = 0; c < a->n_candidates; c++) {
		bool v6 = strchr(a->candidates[c], ':') != NULL;
		/* Host candidates, the first preferred (RFC 8445 5.1.2.1). */
		_PUT("a=candidate:%d 1 udp %u %s %d typ host\r\n", c + 1,
		     (126u << 24) | ((65535u - (unsigned)c - (v6 ? 1000u : 0u)) << 8) | 255u, a->candidates[c],
		     a->port);
	}
	_PUT("a=end-of-candidates\r\n");
	return (int)off;
}

/* The accepted data channel section: SCTP over the video's DTLS, in the
 * offer's form (RFC 8841, or the older DTLS/SCTP <port> + a=sctpmap). */
static int _dc_section(char *out, size_t cap, const struct cr_sdp_media_s *m, const struct cr_sdp_answer_s *a)
{
	size_t off = 0;
	if (m->sctpmap)
		_PUT("m=application 9 DTLS/SCTP %d\r\nc=IN IP4 0.0.0.0\r\n", a->sctp_port);
	else
		_PUT("m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\nc=IN IP4 0.0.0.0\r\n");
	_PUT("a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:ice2\r\n", a->ufrag, a->pwd);
	_PUT("a=fingerprint:sha-256 %s\r\na=setup:passive\r\n", a->fingerprint);
	if (m->mid[0])
		_PUT("a=mid:%s\r\n", m->mid);
	if (m->sctpmap)
		_PUT("a=sctpmap:%d webrtc-datachannel 1024\r\n", a->sctp_port);
	else
		_PUT("a=sctp-port:%d\r\n", a->sctp_port);
	_PUT("a=max-message-size:%d\r\n", a->max_message_size);
	int n = _candidates(out + off, cap - off, a);
	return n < 0 ? n : (int)off + n;
}

/* The accepted audio section: Opus (RFC 7587) on the video's transport. */
static int _audio_section(char *out, size_t cap, const struct cr_sdp_media_s *m, const struct cr_sdp_answer_s *a)
{
	size_t off = 0;
	int pt = a->audio_pt;
	_PUT("m=audio 9 UDP/TLS/RTP/SAVPF %d\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n", pt);
	_PUT("a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:ice2\r\n", a->ufrag, a->pwd);
	_PUT("a=fingerprint:sha-256 %s\r\na=setup:passive\r\n", a->fingerprint);
	if (m->mid[0])
		_PUT("a=mid:%s\r\n", m->mid);
	_PUT("a=%s\r\na=rtcp-mux\r\na=msid:camrelay %s-audio\r\n", a->audio_recv ? "sendrecv" : "sendonly", a->stream);
	_PUT("a=rtpmap:%d opus/48000/2\r\na=fmtp:%d minptime=10;useinbandfec=1%s\r\n", pt, pt,
	     a->audio_channels > 1 ? ";stereo=1;sprop-stereo=1" : "");
	_PUT("a=ssrc:%u cname:camrelay-%s\r\na=ssrc:%u msid:camrelay %s-audio\r\n", a->audio_ssrc, a->stream,
	     a->audio_ssrc, a->stream);
	int n = _candidates(out + off, cap - off, a);
	return n < 0 ? n : (int)off + n;
}

int cr_sdp_build_answer(const struct cr_sdp_offer_s *o, const struct cr_sdp_answer_s *a, char *out,
			size_t cap)
{
	size_t off = 0;
	const struct cr_sdp_media_s *vm = &o->media[a->media];
	_PUT("v=0\r\no=- %llu 2 IN IP4 127.0.0.1\r\ns=camrelay\r\nt=0 0\r\na=ice-lite\r\n",
	     (unsigned long long)a->session_id);
	const struct cr_sdp_media_s *am = a->audio && a->audio_media >= 0 && a->audio_media < o->n_media &&
						  a->audio_media != a->media ? &o->media[a->audio_media] : NULL;
	const struct cr_sdp_media_s *dm = a->has_dc && a->dc_media >= 0 && a->dc_media < o->n_media &&
						  a->dc_media != a->media ? &o->media[a->dc_media] : NULL;
	/* The video first: its section's ICE and DTLS carry the bundle (aiortc
	 * takes the answer's first mid as the transport). */
	if (vm->mid[0])
		_PUT("a=group:BUNDLE %s%s%s%s%s\r\n", vm->mid, am && am->mid[0] ? " " : "", am ? am->mid : "",
		     dm && dm->mid[0] ? " " : "", dm ? dm->mid : "");
	_PUT("a=msid-semantic: WMS camrelay\r\n");
	for (int i = 0; i < o->n_media; i++) {
		const struct cr_sdp_media_s *m = &o->media[i];
		if (am && i == a->audio_media) {
			int n = _audio_section(out + off, cap - off, m, a);
			if (n < 0)
				return n;
			off += (size_t)n;
			continue;
		}
		if (dm && i == a->dc_media) {
			int n = _dc_section(out + off, cap - off, m, a);
			if (n < 0)
				return n;
			off += (size_t)n;
			continue;
		}
		if (i != a->media) {
			_PUT("m=%s 0 %s %s\r\nc=IN IP4 0.0.0.0\r\n", m->type, m->proto, m->first_fmt);
			if (m->mid[0])
				_PUT("a=mid:%s\r\n", m->mid);
			/* Rejected, yet with credentials: aiortc checks them in every section. */
			_PUT("a=ice-ufrag:%s\r\na=ice-pwd:%s\r\n", a->ufrag, a->pwd);
			_PUT("a=fingerprint:sha-256 %s\r\na=setup:passive\r\n", a->fingerprint);
			_PUT("a=inactive\r\n");
			continue;
		}
		const struct cr_sdp_fmt_s *f = NULL;
		for (int k = 0; k < m->n_fmts; k++)
			if (m->fmts[k].pt == a->pt)
				f = &m->fmts[k];
		_PUT("m=video 9 UDP/TLS/RTP/SAVPF %d", a->pt);
		if (a->rtx_pt >= 0)
			_PUT(" %d", a->rtx_pt);
		_PUT("\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n");
		_PUT("a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=ice-options:ice2\r\n", a->ufrag, a->pwd);
		_PUT("a=fingerprint:sha-256 %s\r\na=setup:passive\r\n", a->fingerprint);
		if (m->mid[0])
			_PUT("a=mid:%s\r\n", m->mid);
		_PUT("a=sendonly\r\na=rtcp-mux\r\n");
		_PUT("a=msid:camrelay %s\r\n", a->stream);
		_PUT("a=rtpmap:%d %s/90000\r\n", a->pt, f ? f->name : cr_rtp_encoding_name(a->codec));
		if (a->fmtp && a->fmtp[0])
			_PUT("a=fmtp:%d %s\r\n", a->pt, a->fmtp);
		_PUT("a=rtcp-fb:%d nack\r\na=rtcp-fb:%d nack pli\r\na=rtcp-fb:%d ccm fir\r\n", a->pt, a->pt,
		     a->pt);
		if (a->twcc_ext > 0)
			_PUT("a=extmap:%d %s\r\n", a->twcc_ext, CR_SDP_TWCC_URI);
		if (a->twcc_fb)
			_PUT("a=rtcp-fb:%d transport-cc\r\n", a->pt);
		if (a->remb)
			_PUT("a=rtcp-fb:%d goog-remb\r\n", a->pt);
		if (a->rtx_pt >= 0) {
			_PUT("a=rtpmap:%d rtx/90000\r\na=fmtp:%d apt=%d\r\n", a->rtx_pt, a->rtx_pt, a->pt);
			_PUT("a=ssrc-group:FID %u %u\r\n", a->ssrc, a->rtx_ssrc);
		}
		_PUT("a=ssrc:%u cname:camrelay-%s\r\na=ssrc:%u msid:camrelay %s\r\n", a->ssrc, a->stream,
		     a->ssrc, a->stream);
		if (a->rtx_pt >= 0)
			_PUT("a=ssrc:%u cname:camrelay-%s\r\na=ssrc:%u msid:camrelay %s\r\n", a->rtx_ssrc,
			     a->stream, a->rtx_ssrc, a->stream);
		int n = _candidates(out + off, cap - off, a);
		if (n < 0)
			return n;
		off += (size_t)n;
	}
	return (int)off;
}

/* Appends base64 (RFC 4648, padded) of src to out at *off; false if it does not fit. */
static bool _base64(char *out, size_t cap, size_t *off, const uint8_t *src, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	if (*off + (n + 2) / 3 * 4 >= cap)
		return false;
	char *o = out + *off;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)src[i] << 16 | (i + 1 < n ? (uint32_t)src[i + 1] << 8 : 0) |
			     (i + 2 < n ? src[i + 2] : 0);
		*o++ = a[v >> 18];
		*o++ = a[(v >> 12) & 63];
		*o++ = i + 1 < n ? a[(v >> 6) & 63] : '=';
		*o++ = i + 2 < n ? a[v & 63] : '=';
	}
	*o = 0;
	*off = (size_t)(o - out);
	return true;
}

/* The sprop-* parameters (RFC 6184 sprop-parameter-sets, RFC 7798
 * sprop-vps/-sps/-pps) of Annex-B parameter sets, each list in the order
 * the encoder wrote them. */
static int _sprop(char *out, size_t cap, size_t *offp, enum cr_codec_e codec, const uint8_t *ps, size_t ps_len)
{
	static const struct {
		enum cr_codec_e codec;
		int type;
		const char *key;
	} lists[] = {{CR_CODEC_H264, 7, "sprop-parameter-sets"}, {CR_CODEC_H264, 8, NULL},
		     {CR_CODEC_H265, 32, "sprop-vps"}, {CR_CODEC_H265, 33, "sprop-sps"},
		     {CR_CODEC_H265, 34, "sprop-pps"}};
	size_t off = *offp;
	bool any_in_key = false, first = off > 0 && out[off - 1] == ' ';
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++) {
		if (lists[l].codec != codec)
			continue;
		if (lists[l].key) {
			_PUT("%s%s=", first ? "" : ";", lists[l].key);
			any_in_key = first = false;
		}
		const uint8_t *p = ps, *end = ps + ps_len, *nal;
		size_t n;
		while ((nal = cr_annexb_next(&p, end, &n))) {
			if (n < 2 || cr_nal_type(codec, nal) != lists[l].type)
				continue;
			if (any_in_key)
				_PUT(",");
			if (!_base64(out, cap, &off, nal, n))
				return -ENOSPC;
			any_in_key = true;
		}
	}
	*offp = off;
	return 0;
}

int cr_sdp_plain_rtp(char *out, size_t cap, const char *name, const char *addr, int port,
		     enum cr_codec_e codec, int pt, int clock_rate, const uint8_t *ps, size_t ps_len)
{
	size_t off = 0;
	bool v6 = strchr(addr, ':') != NULL;
	const char *enc = cr_rtp_encoding_name(codec);
	if (!enc)
		return -EINVAL;
	_PUT("v=0\r\no=- 0 0 IN IP%c %s\r\ns=camrelay %s\r\nc=IN IP%c %s\r\nt=0 0\r\n", v6 ? '6' : '4',
	     addr, name, v6 ? '6' : '4', addr);
	_PUT("m=video %d RTP/AVP %d\r\na=rtpmap:%d %s/%d\r\n", port, pt, pt, enc, clock_rate);
	/* The first SPS gives H.264's profile-level-id (its bytes 1..3). */
	const uint8_t *p = ps, *sps = NULL, *nal;
	size_t n;
	while (!sps && ps_len && (nal = cr_annexb_next(&p, ps + ps_len, &n)))
		sps = codec == CR_CODEC_H264 && n >= 4 && cr_nal_type(codec, nal) == 7 ? nal : NULL;
	if (codec == CR_CODEC_H264) {
		_PUT("a=fmtp:%d packetization-mode=1", pt);
		if (sps)
			_PUT(";profile-level-id=%02x%02x%02x", sps[1], sps[2], sps[3]);
	} else if (codec == CR_CODEC_H265 && ps_len) {
		_PUT("a=fmtp:%d ", pt);
	}
	if (ps_len && _sprop(out, cap, &off, codec, ps, ps_len) < 0)
		return -ENOSPC;
	if (codec == CR_CODEC_H264 || (codec == CR_CODEC_H265 && ps_len))
		_PUT("\r\n");
	_PUT("a=recvonly\r\n");
	return (int)off;
}

int cr_sdp_plain_opus(char *out, size_t cap, int port, int pt, int channels, bool fec)
{
	size_t off = 0;
	/* RFC 7587 7: the rtpmap always says 2 channels; sprop-stereo says what is sent. */
	_PUT("m=audio %d RTP/AVP %d\r\na=rtpmap:%d opus/48000/2\r\n", port, pt, pt);
	_PUT("a=fmtp:%d minptime=10;useinbandfec=%d;sprop-stereo=%d\r\na=ptime:20\r\na=recvonly\r\n", pt,
	     fec ? 1 : 0, channels > 1 ? 1 : 0);
	return (int)off;
}

int cr_sdp_plain_audio(char *out, size_t cap, int port, const struct cr_audio_format_s *f, int channels, bool fec)
{
	int pt = cr_rtp_audio_pt(f->codec, f->clock_rate, f->channels);
	if (f->codec == CR_AUDIO_OPUS)
		return cr_sdp_plain_opus(out, cap, port, pt, channels, fec);
	size_t off = 0;
	_PUT("m=audio %d RTP/AVP %d\r\n", port, pt);
	if (f->codec != CR_AUDIO_AAC) { /* RFC 3551: PT 0/8 at 8 kHz mono, else dynamic; RFC 4566: "/channels" past 1 */
		_PUT("a=rtpmap:%d %s/%d", pt, f->codec == CR_AUDIO_PCMU ? "PCMU" : "PCMA", f->clock_rate);
		if (f->channels > 1)
			_PUT("/%d", f->channels);
		_PUT("\r\na=recvonly\r\n");
		return (int)off;
	}
	/* RFC 3640 3.3.6: AAC-hbr, config = the AudioSpecificConfig in hex. */
	_PUT("a=rtpmap:%d mpeg4-generic/%d/%d\r\n", pt, f->clock_rate, f->channels);
	_PUT("a=fmtp:%d streamtype=5;profile-level-id=1;mode=AAC-hbr;sizelength=13;indexlength=3;"
	     "indexdeltalength=3;config=", pt);
	for (size_t i = 0; i < f->config_len; i++)
		_PUT("%02x", f->config[i]);
	_PUT("\r\na=recvonly\r\n");
	return (int)off;
}

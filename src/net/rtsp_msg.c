/* RTSP message, Transport and URL parsing; see rtsp_msg.h (hand-written,
 * fuzzed). */
#include "net/rtsp_msg.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The end of the head (after the blank line), or NULL. Bare LF line ends
 * are accepted as well as CRLF. */
static const uint8_t *_head_end(const uint8_t *buf, size_t len)
{
	for (size_t i = 0; i + 1 < len; i++) {
		if (buf[i] != '\n')
			continue;
		if (buf[i + 1] == '\n')
			return buf + i + 2;
		if (buf[i + 1] == '\r' && i + 2 < len && buf[i + 2] == '\n')
			return buf + i + 3;
	}
	return NULL;
}

/* Copies a header value, trimmed, cut to cap. */
static void _copy(char *out, size_t cap, const char *v, size_t n)
{
	while (n && (*v == ' ' || *v == '\t'))
		v++, n--;
	while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r'))
		n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(out, v, n);
	out[n] = 0;
}

/* A decimal number of at most 9 digits filling the text; -1 otherwise. */
static long _number(const char *s)
{
	long v = 0;
	int digits = 0;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s) || ++digits > 9)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return digits ? v : -1;
}

static int _header(struct cr_rtsp_msg_s *m, const char *name, size_t nl, const char *v, size_t vl)
{
	char tmp[64];
#define _IS(s) (nl == sizeof(s) - 1 && strncasecmp(name, s, nl) == 0)
	if (_IS("CSeq")) {
		_copy(tmp, sizeof(tmp), v, vl);
		m->cseq = (int)_number(tmp);
		return m->cseq < 0 ? -400 : 0;
	}
	if (_IS("Content-Length")) {
		_copy(tmp, sizeof(tmp), v, vl);
		long n = _number(tmp);
		if (n < 0)
			return -400;
		if (n > CR_RTSP_MAX_BODY)
			return -413;
		m->content_length = (size_t)n;
	} else if (_IS("Session")) {
		_copy(m->session, sizeof(m->session), v, vl);
		char *semi = strchr(m->session, ';');
		if (semi) {
			const char *t = strcasestr(semi, "timeout=");
			m->session_timeout = t ? atoi(t + 8) : 0;
			*semi = 0;
		}
	} else if (_IS("Transport")) {
		_copy(m->transport, sizeof(m->transport), v, vl);
	} else if (_IS("Authorization")) {
		_copy(m->authorization, sizeof(m->authorization), v, vl);
	} else if (_IS("WWW-Authenticate")) {
		/* Keep the first challenge, or the first Digest one. */
		if (!m->www_authenticate[0] || (strncasecmp(m->www_authenticate, "Digest", 6) != 0 &&
						vl > 6 && strncasecmp(v + strspn(v, " "), "Digest", 6) == 0))
			_copy(m->www_authenticate, sizeof(m->www_authenticate), v, vl);
	} else if (_IS("Content-Type")) {
		_copy(m->content_type, sizeof(m->content_type), v, vl);
	} else if (_IS("RTP-Info")) {
		_copy(m->rtp_info, sizeof(m->rtp_info), v, vl);
	}
#undef _IS
	return 0;
}

/* "METHOD uri RTSP/1.0" or "RTSP/1.0 200 reason". */
static int _first_line(struct cr_rtsp_msg_s *m, const char *line, size_t n)
{
	char l[1100];
	if (n >= sizeof(l))
		return n > 1024 + 64 ? -413 : -400;
	memcpy(l, line, n);
	l[n] = 0;
	if (strncmp(l, "RTSP/", 5) == 0) {
		m->response = true;
		if (strncmp(l, "RTSP/1.0 ", 9) != 0)
			return -505;
		if (!isdigit((unsigned char)l[9]) || !isdigit((unsigned char)l[10]) ||
		    !isdigit((unsigned char)l[11]) || (l[12] != ' ' && l[12] != 0))
			return -400;
		m->status = atoi(l + 9);
		return 0;
	}
	char *sp1 = strchr(l, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || sp1 == l || sp2 == sp1 + 1 || (size_t)(sp1 - l) >= sizeof(m->method))
		return -400;
	if (strcmp(sp2 + 1, "RTSP/1.0") != 0)
		return strncmp(sp2 + 1, "RTSP/", 5) == 0 || strncmp(sp2 + 1, "HTTP/", 5) == 0 ? -505 : -400;
	for (char *c = l; c < sp1; c++)
		if (!isupper((unsigned char)*c) && *c != '_' && *c != '-')
			return -400;
	if ((size_t)(sp2 - sp1 - 1) >= sizeof(m->uri))
		return -413;
	memcpy(m->method, l, (size_t)(sp1 - l));
	memcpy(m->uri, sp1 + 1, (size_t)(sp2 - sp1 - 1));
	return 0;
}

int cr_rtsp_parse(const uint8_t *buf, size_t len, struct cr_rtsp_msg_s *m)
{
	memset(m, 0, sizeof(*m));
	m->cseq = -1;
	/* Blank lines between messages are allowed (RFC 2326 keeps HTTP's rule). */
	size_t skip = 0;
	while (skip < len && (buf[skip] == '\r' || buf[skip] == '\n'))
		skip++;
	buf += skip;
	len -= skip;
	const uint8_t *end = _head_end(buf, len > CR_RTSP_MAX_HEAD ? CR_RTSP_MAX_HEAD : len);
	if (!end)
		return len >= CR_RTSP_MAX_HEAD ? -413 : 0;
	const char *p = (const char *)buf, *e = (const char *)end;
	const char *nl = memchr(p, '\n', (size_t)(e - p));
	size_t fl = (size_t)(nl - p);
	if (fl && p[fl - 1] == '\r')
		fl--;
	int rc = _first_line(m, p, fl);
	if (rc < 0)
		return rc;
	int n_headers = 0;
	for (p = nl + 1; p < e;) {
		nl = memchr(p, '\n', (size_t)(e - p));
		size_t ll = (size_t)(nl - p);
		if (ll && p[ll - 1] == '\r')
			ll--;
		if (ll == 0)
			break;
		if (++n_headers > CR_RTSP_MAX_HEADERS)
			return -413;
		const char *colon = memchr(p, ':', ll);
		if (!colon || colon == p || *p == ' ' || *p == '\t')
			return -400; /* no name, or a folded line (obsolete; nobody sends them) */
		for (size_t k = 0; k < ll; k++)
			if (p[k] == 0)
				return -400;
		if ((rc = _header(m, p, (size_t)(colon - p), colon + 1, ll - (size_t)(colon - p) - 1)) < 0)
			return rc;
		p = nl + 1;
	}
	if (!m->response && m->cseq < 0)
		return -400;
	size_t head = (size_t)(end - buf);
	if (len - head < m->content_length)
		return 0;
	m->body = m->content_length ? end : NULL;
	return (int)(skip + head + m->content_length);
}

/* ---- Transport ---- */

static int _pair(const char *v, int out[2], int min, int max)
{
	char *e;
	long a = strtol(v, &e, 10), b;
	if (e == v || a < min || a > max)
		return -EINVAL;
	if (*e == '-') {
		const char *s = e + 1;
		b = strtol(s, &e, 10);
		if (e == s || b != a + 1 || b > max)
			return -EINVAL;
	} else {
		b = a + 1;
		if (b > max)
			return -EINVAL;
	}
	if (*e && *e != ';' && *e != ',')
		return -EINVAL;
	out[0] = (int)a;
	out[1] = (int)b;
	return 0;
}

/* One specification: "RTP/AVP[/UDP|/TCP];unicast;client_port=a-b;..." up to its end. */
static int _one_transport(const char *s, const char *end, struct cr_rtsp_transport_s *t)
{
	char spec[512];
	size_t n = (size_t)(end - s);
	if (n >= sizeof(spec))
		return -EINVAL;
	memcpy(spec, s, n);
	spec[n] = 0;
	memset(t, 0, sizeof(*t));
	t->client_port[0] = t->client_port[1] = t->interleaved[0] = t->interleaved[1] = -1;
	char *save = NULL;
	char *proto = strtok_r(spec, ";", &save);
	if (!proto)
		return -EINVAL;
	while (*proto == ' ')
		proto++;
	if (strcasecmp(proto, "RTP/AVP/TCP") == 0)
		t->tcp = true;
	else if (strcasecmp(proto, "RTP/AVP") != 0 && strcasecmp(proto, "RTP/AVP/UDP") != 0)
		return -EINVAL;
	for (char *k; (k = strtok_r(NULL, ";", &save));) {
		while (*k == ' ')
			k++;
		if (strcasecmp(k, "multicast") == 0)
			t->multicast = true;
		else if (strncasecmp(k, "client_port=", 12) == 0 && _pair(k + 12, t->client_port, 1, 65535) < 0)
			return -EINVAL;
		else if (strncasecmp(k, "interleaved=", 12) == 0 && _pair(k + 12, t->interleaved, 0, 255) < 0)
			return -EINVAL;
		else if (strncasecmp(k, "mode=", 5) == 0)
			t->record = strcasestr(k + 5, "record") != NULL;
	}
	if (t->tcp && t->multicast)
		return -EINVAL;
	return 0;
}

int cr_rtsp_parse_transport(const char *text, struct cr_rtsp_transport_s *t)
{
	const char *s = text;
	for (int i = 0; i < 8 && *s; i++) {
		const char *end = strchr(s, ',');
		if (!end)
			end = s + strlen(s);
		if (_one_transport(s, end, t) == 0)
			return 0;
		s = *end ? end + 1 : end;
	}
	return -EINVAL;
}

/* ---- URLs ---- */

static int _hex(int c)
{
	return isdigit(c) ? c - '0' : isxdigit(c) ? (tolower(c) - 'a' + 10) : -1;
}

static int _decode(char *out, size_t cap, const char *s, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%') {
			int a = i + 1 < n ? _hex((unsigned char)s[i + 1]) : -1;
			int b = i + 2 < n ? _hex((unsigned char)s[i + 2]) : -1;
			if (a < 0 || b < 0 || a * 16 + b == 0)
				return -EINVAL;
			c = a * 16 + b;
			i += 2;
		}
		if (o + 1 >= cap)
			return -EINVAL;
		out[o++] = (char)c;
	}
	out[o] = 0;
	return 0;
}

static int _authority(const char *a, size_t n, struct cr_rtsp_url_s *u)
{
	const char *at = NULL;
	for (size_t i = 0; i < n; i++)
		if (a[i] == '@')
			at = a + i;
	if (at) {
		const char *colon = memchr(a, ':', (size_t)(at - a));
		size_t ul = colon ? (size_t)(colon - a) : (size_t)(at - a);
		if (_decode(u->user, sizeof(u->user), a, ul) < 0 ||
		    (colon && _decode(u->pass, sizeof(u->pass), colon + 1, (size_t)(at - colon - 1)) < 0))
			return -EINVAL;
		n -= (size_t)(at + 1 - a);
		a = at + 1;
	}
	const char *hs = a, *he;
	const char *rest;
	if (n && *a == '[') {
		he = memchr(a, ']', n);
		if (!he)
			return -EINVAL;
		hs = a + 1;
		rest = he + 1;
	} else {
		he = memchr(a, ':', n);
		if (!he)
			he = a + n;
		rest = he;
	}
	size_t hl = (size_t)(he - hs);
	if (hl == 0 || hl >= sizeof(u->host))
		return -EINVAL;
	memcpy(u->host, hs, hl);
	u->host[hl] = 0;
	u->port = 554;
	size_t left = n - (size_t)(rest - a);
	if (left) {
		if (*rest != ':' || left < 2 || left > 6)
			return -EINVAL;
		char port[8];
		memcpy(port, rest + 1, left - 1);
		port[left - 1] = 0;
		long p = _number(port);
		if (p < 1 || p > 65535)
			return -EINVAL;
		u->port = (int)p;
	}
	return 0;
}

int cr_rtsp_parse_url(const char *url, struct cr_rtsp_url_s *u)
{
	memset(u, 0, sizeof(*u));
	const char *p = url;
	if (strncasecmp(p, "rtsp://", 7) == 0) {
		p += 7;
		size_t n = strcspn(p, "/?");
		if (_authority(p, n, u) < 0)
			return -EINVAL;
		p += n;
	} else if (*p != '/') {
		return -EINVAL;
	}
	while (*p == '/')
		p++;
	size_t pl = strcspn(p, "?");
	if (pl >= sizeof(u->path))
		return -EINVAL;
	memcpy(u->path, p, pl);
	u->path[pl] = 0;
	if (p[pl] == '?' && snprintf(u->query, sizeof(u->query), "%s", p + pl + 1) >= (int)sizeof(u->query))
		return -EINVAL;
	return 0;
}

bool cr_rtsp_query_get(const char *query, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	for (const char *s = query; s && *s;) {
		const char *amp = strchr(s, '&');
		size_t n = amp ? (size_t)(amp - s) : strlen(s);
		if (n > kl && strncmp(s, key, kl) == 0 && s[kl] == '=')
			return _decode(out, cap, s + kl + 1, n - kl - 1) == 0;
		s = amp ? amp + 1 : NULL;
	}
	return false;
}

bool cr_rtsp_header_param(const char *h, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	for (const char *p = h; (p = strcasestr(p, key)); p += kl) {
		if ((p != h && p[-1] != ' ' && p[-1] != ',') || p[kl] != '=')
			continue;
		const char *v = p + kl + 1;
		bool quoted = *v == '"';
		v += quoted;
		size_t n = quoted ? strcspn(v, "\"") : strcspn(v, ", ");
		if (n >= cap || (quoted && v[n] != '"'))
			return false;
		memcpy(out, v, n);
		out[n] = 0;
		return true;
	}
	return false;
}

void cr_rtsp_base64(const void *in, size_t n, char *out)
{
	static const char abc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = in;
	for (size_t i = 0; i < n; i += 3, out += 4) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		out[0] = abc[v >> 18];
		out[1] = abc[(v >> 12) & 63];
		out[2] = i + 1 < n ? abc[(v >> 6) & 63] : '=';
		out[3] = i + 2 < n ? abc[v & 63] : '=';
	}
	*out = 0;
}

/* TURN client over UDP and STUN Binding for the server-reflexive address;
 * see turn.h (hand-written, fuzzed: why not libnice is said there). One
 * request in flight at a time, retransmitted 250 ms, 500 ms, then every
 * second, 7 tries in all (RFC 8489 §6.2.1 with a shorter last wait). */
#include "net/turn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "net/hash.h"

#define _MAGIC 0x2112a442u
#define _BINDING 0x0001
#define _ALLOCATE 0x0003
#define _REFRESH 0x0004
#define _SEND_IND 0x0016
#define _DATA_IND 0x0017
#define _CREATE_PERMISSION 0x0008
#define _CHANNEL_BIND 0x0009
#define _CLASS_MASK 0x0110
#define _CLASS_SUCCESS 0x0100
#define _CLASS_ERROR 0x0110

#define _ATTR_USERNAME 0x0006
#define _ATTR_ERROR_CODE 0x0009
#define _ATTR_CHANNEL_NUMBER 0x000c
#define _ATTR_LIFETIME 0x000d
#define _ATTR_XOR_PEER 0x0012
#define _ATTR_DATA 0x0013
#define _ATTR_REALM 0x0014
#define _ATTR_NONCE 0x0015
#define _ATTR_XOR_RELAYED 0x0016
#define _ATTR_REQUESTED_TRANSPORT 0x0019

#define _CHANNEL 0x4000
#define _TRIES 7
#define _LIFETIME_S 600
#define _PERMISSION_REFRESH_NS 240000000000LL /* permissions last 300 s */
#define _CHANNEL_REFRESH_NS 300000000000LL    /* channels last 600 s */
#define _MAX_REALM 256
#define _MAX_NONCE 256

static uint16_t _u16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t _u32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void _put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- parsing ---- */

static void _text(char *out, size_t n, const uint8_t *v, size_t len)
{
	size_t k = 0;
	for (size_t i = 0; i < len && k + 1 < n; i++)
		out[k++] = v[i] < 0x20 || v[i] >= 0x7f ? '?' : (char)v[i];
	out[k] = 0;
}

static int _attr(struct cr_turn_msg_s *m, uint16_t t, uint8_t *v, size_t alen)
{
	switch (t) {
	case _ATTR_ERROR_CODE:
		if (alen < 4 || (v[2] & 7) < 3 || (v[2] & 7) > 6 || v[3] > 99)
			return -EINVAL;
		m->error_code = (v[2] & 7) * 100 + v[3];
		_text(m->reason, sizeof(m->reason), v + 4, alen - 4);
		break;
	case _ATTR_REALM:
		if (alen > _MAX_REALM)
			return -EINVAL;
		m->realm = v;
		m->realm_len = alen;
		break;
	case _ATTR_NONCE:
		if (alen > _MAX_NONCE)
			return -EINVAL;
		m->nonce = v;
		m->nonce_len = alen;
		break;
	case _ATTR_XOR_RELAYED:
		cr_stun_xor_addr(v, alen, m->stun.tid, &m->relayed);
		m->has_relayed = m->relayed.ss_family != 0;
		break;
	case _ATTR_XOR_PEER:
		cr_stun_xor_addr(v, alen, m->stun.tid, &m->peer);
		m->has_peer = m->peer.ss_family != 0;
		break;
	case _ATTR_LIFETIME:
		if (alen != 4)
			return -EINVAL;
		m->lifetime = _u32(v);
		m->has_lifetime = true;
		break;
	case _ATTR_DATA:
		m->data = v;
		m->data_len = alen;
		break;
	default:
		break;
	}
	return 0;
}

int cr_turn_parse(uint8_t *p, size_t len, struct cr_turn_msg_s *m)
{
	memset(m, 0, sizeof(*m));
	int rc = cr_stun_parse(p, len, &m->stun); /* structure, bounds, FINGERPRINT */
	if (rc < 0)
		return rc;
	for (size_t off = 20; off + 4 <= len;) {
		uint16_t t = _u16(p + off), alen = _u16(p + off + 2);
		if ((rc = _attr(m, t, p + off + 4, alen)) < 0)
			return rc;
		off += 4 + (((size_t)alen + 3) & ~(size_t)3);
	}
	return 0;
}

int cr_turn_channel_data(uint8_t *p, size_t len, uint16_t *channel, uint8_t **data, size_t *data_len)
{
	if (len < 4 || p[0] < 0x40 || p[0] > 0x4f)
		return -EINVAL;
	size_t n = _u16(p + 2);
	if (n > len - 4)
		return -EINVAL;
	*channel = _u16(p);
	*data = p + 4;
	*data_len = n;
	return 0;
}

/* ---- the client ---- */

struct cr_turn_s {
	struct sockaddr_in6 server;
	char user[128], pass[256], error[240];
	uint8_t realm[_MAX_REALM], nonce[_MAX_NONCE];
	size_t realm_len, nonce_len;
	uint8_t key[16];
	bool have_key, released;
	int stale;
	enum cr_turn_state_e state;
	cr_turn_send_fn send;
	void *opaque;
	struct sockaddr_in6 mapped, relayed;
	/* the request in flight */
	bool busy;
	uint16_t method;
	uint8_t tid[12];
	uint8_t req[1536]; /* 16 peers (404 B) + the longest credentials (684 B) fit */
	size_t req_len;
	int tries;
	int64_t next_ns;
	/* what the allocation needs next */
	int n_peers;
	struct sockaddr_in6 peers[CR_TURN_MAX_PEERS];
	bool want_perm, want_bind, bound;
	struct sockaddr_in6 bind_peer;
	int64_t refresh_ns, perm_ns, bind_ns;
	uint8_t out[2048];
};

static void _addr_text(const struct sockaddr_in6 *a, char *out, size_t n)
{
	char h[INET6_ADDRSTRLEN] = "?";
	if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
		inet_ntop(AF_INET, &a->sin6_addr.s6_addr[12], h, sizeof(h));
		snprintf(out, n, "%s:%u", h, ntohs(a->sin6_port));
	} else {
		inet_ntop(AF_INET6, &a->sin6_addr, h, sizeof(h));
		snprintf(out, n, "[%s]:%u", h, ntohs(a->sin6_port));
	}
}

/* sockaddr_in6 (v4-mapped for IPv4) <-> what XOR-*-ADDRESS carries. */
static void _to_wire(const struct sockaddr_in6 *in, struct sockaddr_storage *out)
{
	memset(out, 0, sizeof(*out));
	if (IN6_IS_ADDR_V4MAPPED(&in->sin6_addr)) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)out;
		s4->sin_family = AF_INET;
		s4->sin_port = in->sin6_port;
		memcpy(&s4->sin_addr, &in->sin6_addr.s6_addr[12], 4);
	} else {
		memcpy(out, in, sizeof(*in));
	}
}

static void _from_wire(const struct sockaddr_storage *in, struct sockaddr_in6 *out)
{
	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	if (in->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)in;
		out->sin6_port = s4->sin_port;
		out->sin6_addr.s6_addr[10] = out->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->sin6_addr.s6_addr[12], &s4->sin_addr, 4);
	} else if (in->ss_family == AF_INET6) {
		memcpy(out, in, sizeof(*out));
	}
}

static bool _same(const struct sockaddr_in6 *a, const struct sockaddr_in6 *b)
{
	return a->sin6_port == b->sin6_port && memcmp(&a->sin6_addr, &b->sin6_addr, 16) == 0;
}

static const char *_method_name(uint16_t m)
{
	switch (m) {
	case _BINDING: return "Binding";
	case _ALLOCATE: return "Allocate";
	case _REFRESH: return "Refresh";
	case _CREATE_PERMISSION: return "CreatePermission";
	default: return "ChannelBind";
	}
}

static void _fail(struct cr_turn_s *t, const char *what)
{
	char a[64];
	_addr_text(&t->server, a, sizeof(a));
	snprintf(t->error, sizeof(t->error), "%s server %s: %s", t->user[0] ? "TURN" : "STUN", a, what);
	t->state = CR_TURN_FAILED;
	t->busy = false;
}

static void _add(uint8_t *out, size_t *off, uint16_t type, const void *v, size_t len)
{
	_put16(out + *off, type);
	_put16(out + *off + 2, (uint16_t)len);
	memcpy(out + *off + 4, v, len);
	size_t pad = ((len + 3) & ~(size_t)3) - len;
	memset(out + *off + 4 + len, 0, pad);
	*off += 4 + len + pad;
}

static size_t _add_peer(uint8_t *out, size_t off, size_t cap, const struct sockaddr_in6 *peer, const uint8_t *tid)
{
	struct sockaddr_storage w;
	_to_wire(peer, &w);
	return off + cr_stun_put_xor_addr(out + off, cap - off, _ATTR_XOR_PEER, (const struct sockaddr *)&w, tid);
}

/* The request of t->method into t->req, with a new transaction id. */
static size_t _build(struct cr_turn_s *t, uint32_t lifetime)
{
	uint8_t *o = t->req, v[4] = {0};
	size_t off = 20, cap = sizeof(t->req);
	if (getrandom(t->tid, 12, 0) != 12)
		for (int i = 0; i < 12; i++)
			t->tid[i] = (uint8_t)rand();
	_put16(o, t->method);
	o[4] = 0x21, o[5] = 0x12, o[6] = 0xa4, o[7] = 0x42;
	memcpy(o + 8, t->tid, 12);
	if (t->method == _ALLOCATE) {
		v[0] = 17; /* REQUESTED-TRANSPORT: UDP */
		_add(o, &off, _ATTR_REQUESTED_TRANSPORT, v, 4);
	} else if (t->method == _REFRESH) {
		uint8_t l[4] = {(uint8_t)(lifetime >> 24), (uint8_t)(lifetime >> 16), (uint8_t)(lifetime >> 8),
				(uint8_t)lifetime};
		_add(o, &off, _ATTR_LIFETIME, l, 4);
	} else if (t->method == _CREATE_PERMISSION) {
		for (int i = 0; i < t->n_peers; i++)
			off = _add_peer(o, off, cap, &t->peers[i], t->tid);
	} else if (t->method == _CHANNEL_BIND) {
		_put16(v, _CHANNEL);
		_add(o, &off, _ATTR_CHANNEL_NUMBER, v, 4);
		off = _add_peer(o, off, cap, &t->bind_peer, t->tid);
	}
	if (!t->have_key) {
		_put16(o + 2, (uint16_t)(off - 20));
		return off;
	}
	_add(o, &off, _ATTR_USERNAME, t->user, strlen(t->user));
	_add(o, &off, _ATTR_REALM, t->realm, t->realm_len);
	_add(o, &off, _ATTR_NONCE, t->nonce, t->nonce_len);
	_put16(o + 2, (uint16_t)(off - 20));
	return cr_stun_seal(o, cap, off, (const char *)t->key, sizeof(t->key));
}

static void _request(struct cr_turn_s *t, uint16_t method, int64_t now)
{
	t->method = method;
	t->req_len = _build(t, method == _REFRESH && t->released ? 0 : _LIFETIME_S);
	if (!t->req_len) {
		_fail(t, "request does not fit");
		return;
	}
	t->busy = true;
	t->tries = 1;
	t->next_ns = now + 250000000LL;
	t->send(t->opaque, &t->server, t->req, t->req_len);
}

/* long-term key: MD5(username ":" realm ":" password), RFC 8489 §9.2.2 */
static bool _make_key(struct cr_turn_s *t)
{
	struct iovec parts[5] = {{t->user, strlen(t->user)}, {(void *)":", 1}, {t->realm, t->realm_len},
				 {(void *)":", 1}, {t->pass, strlen(t->pass)}};
	uint8_t out[CR_HASH_MAX];
	if (cr_digest(CR_HASH_MD5, parts, 5, out) != 16)
		return false;
	memcpy(t->key, out, 16);
	return true;
}

struct cr_turn_s *cr_turn_new(const struct sockaddr_in6 *server, const char *user, const char *pass,
			      cr_turn_send_fn send, void *opaque)
{
	struct cr_turn_s *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->server = *server;
	snprintf(t->user, sizeof(t->user), "%s", user ? user : "");
	snprintf(t->pass, sizeof(t->pass), "%s", pass ? pass : "");
	t->send = send;
	t->opaque = opaque;
	return t;
}

void cr_turn_free(struct cr_turn_s *t) { free(t); }

void cr_turn_start(struct cr_turn_s *t, int64_t now) { _request(t, t->user[0] ? _ALLOCATE : _BINDING, now); }

enum cr_turn_state_e cr_turn_state(const struct cr_turn_s *t) { return t->state; }
const char *cr_turn_error(const struct cr_turn_s *t) { return t->error; }
const struct sockaddr_in6 *cr_turn_server(const struct cr_turn_s *t) { return &t->server; }
const struct sockaddr_in6 *cr_turn_mapped(const struct cr_turn_s *t) { return &t->mapped; }
const struct sockaddr_in6 *cr_turn_relayed(const struct cr_turn_s *t) { return &t->relayed; }
bool cr_turn_from(const struct cr_turn_s *t, const struct sockaddr_in6 *from) { return _same(&t->server, from); }

void cr_turn_tick(struct cr_turn_s *t, int64_t now)
{
	if (t->released || t->state == CR_TURN_FAILED)
		return;
	if (t->busy) {
		if (now < t->next_ns)
			return;
		if (t->tries >= _TRIES) {
			char why[96];
			snprintf(why, sizeof(why), "no answer to %s (%d tries)", _method_name(t->method), _TRIES);
			_fail(t, why);
			return;
		}
		t->next_ns = now + (t->tries < 3 ? 250000000LL << (t->tries) : 1000000000LL);
		t->tries++;
		t->send(t->opaque, &t->server, t->req, t->req_len);
		return;
	}
	if (t->state != CR_TURN_READY || !t->user[0])
		return;
	if (t->want_perm || (t->n_peers && now >= t->perm_ns))
		_request(t, _CREATE_PERMISSION, now);
	else if (t->want_bind || (t->bound && now >= t->bind_ns))
		_request(t, _CHANNEL_BIND, now);
	else if (now >= t->refresh_ns)
		_request(t, _REFRESH, now);
}

/* A success response to the request in flight. */
static void _success(struct cr_turn_s *t, const struct cr_turn_msg_s *m, int64_t now)
{
	t->busy = false;
	switch (t->method) {
	case _BINDING:
	case _ALLOCATE:
		if (m->stun.has_xor_mapped)
			_from_wire(&m->stun.xor_mapped, &t->mapped);
		if (t->method == _ALLOCATE && !m->has_relayed) {
			_fail(t, "Allocate succeeded without XOR-RELAYED-ADDRESS");
			return;
		}
		if (m->has_relayed)
			_from_wire(&m->relayed, &t->relayed);
		/* the allocation's lifetime: */
		__attribute__((fallthrough));
	case _REFRESH: {
		uint32_t life = m->has_lifetime && m->lifetime >= 60 ? m->lifetime : 60;
		t->refresh_ns = now + (int64_t)life / 2 * 1000000000LL;
		t->state = CR_TURN_READY;
		break;
	}
	case _CREATE_PERMISSION:
		t->want_perm = false;
		t->perm_ns = now + _PERMISSION_REFRESH_NS;
		break;
	default:
		t->want_bind = false;
		t->bound = true;
		t->bind_ns = now + _CHANNEL_REFRESH_NS;
		break;
	}
}

/* An error response: a 401 asks for credentials, a 438 for a new nonce. */
static void _error(struct cr_turn_s *t, const struct cr_turn_msg_s *m, int64_t now)
{
	char why[200];
	bool auth = m->error_code == 401 && !t->have_key && t->user[0];
	bool stale = m->error_code == 438 && t->have_key && t->stale < 3;
	if ((auth || stale) && m->realm && m->nonce) {
		if (auth) {
			memcpy(t->realm, m->realm, m->realm_len);
			t->realm_len = m->realm_len;
		}
		memcpy(t->nonce, m->nonce, m->nonce_len);
		t->nonce_len = m->nonce_len;
		t->stale += stale;
		t->have_key = auth ? _make_key(t) : t->have_key;
		if (t->have_key) {
			_request(t, t->method, now);
			return;
		}
	}
	snprintf(why, sizeof(why), "%s answered %d %s%s", _method_name(t->method), m->error_code, m->reason,
		 m->error_code == 401 && t->have_key ? " (check the username and credential)" : "");
	_fail(t, why);
}

int cr_turn_input(struct cr_turn_s *t, uint8_t *b, size_t len, int64_t now, uint8_t **data, size_t *data_len,
		  struct sockaddr_in6 *peer)
{
	uint16_t ch;
	if (len && b[0] >= 0x40 && b[0] <= 0x4f) {
		if (cr_turn_channel_data(b, len, &ch, data, data_len) < 0 || !t->bound || ch != _CHANNEL)
			return -EINVAL;
		*peer = t->bind_peer;
		return 1;
	}
	struct cr_turn_msg_s m;
	if (cr_turn_parse(b, len, &m) < 0)
		return -EINVAL;
	if (m.stun.type == _DATA_IND) {
		if (!m.has_peer || !m.data)
			return -EINVAL;
		_from_wire(&m.peer, peer);
		*data = m.data;
		*data_len = m.data_len;
		return 1;
	}
	uint16_t cls = m.stun.type & _CLASS_MASK, method = m.stun.type & (uint16_t)~_CLASS_MASK;
	if (!t->busy || method != t->method || memcmp(m.stun.tid, t->tid, 12) != 0 || t->state == CR_TURN_FAILED)
		return 0; /* late, duplicate or not ours */
	if (cls == _CLASS_SUCCESS) {
		/* answers to signed requests are signed with the same key */
		if (t->have_key && !cr_stun_check_integrity(b, len, &m.stun, (const char *)t->key, sizeof(t->key)))
			return -EINVAL;
		_success(t, &m, now);
	} else if (cls == _CLASS_ERROR) {
		_error(t, &m, now);
	}
	return 0;
}

void cr_turn_permit(struct cr_turn_s *t, const struct sockaddr_in6 *peers, int n)
{
	t->n_peers = n < CR_TURN_MAX_PEERS ? n : CR_TURN_MAX_PEERS;
	memcpy(t->peers, peers, (size_t)t->n_peers * sizeof(*peers));
	t->want_perm = t->n_peers > 0;
}

void cr_turn_bind(struct cr_turn_s *t, const struct sockaddr_in6 *peer)
{
	t->bind_peer = *peer;
	t->want_bind = true;
	t->bound = false;
}

int cr_turn_send(struct cr_turn_s *t, const struct sockaddr_in6 *peer, const uint8_t *b, size_t len)
{
	uint8_t *o = t->out;
	if (t->state != CR_TURN_READY || t->released)
		return -ENOTCONN;
	if (t->bound && _same(peer, &t->bind_peer)) {
		if (len + 4 > sizeof(t->out))
			return -EMSGSIZE;
		_put16(o, _CHANNEL);
		_put16(o + 2, (uint16_t)len);
		memcpy(o + 4, b, len);
		t->send(t->opaque, &t->server, o, len + 4);
		return 0;
	}
	uint8_t tid[12];
	size_t off = 20;
	if (len + 20 + 24 + 4 + 3 > sizeof(t->out))
		return -EMSGSIZE;
	if (getrandom(tid, sizeof(tid), 0) != sizeof(tid))
		memset(tid, 0x33, sizeof(tid));
	_put16(o, _SEND_IND);
	o[4] = 0x21, o[5] = 0x12, o[6] = 0xa4, o[7] = 0x42;
	memcpy(o + 8, tid, 12);
	off = _add_peer(o, off, sizeof(t->out), peer, tid);
	_add(o, &off, _ATTR_DATA, b, len);
	_put16(o + 2, (uint16_t)(off - 20));
	t->send(t->opaque, &t->server, o, off);
	return 0;
}

void cr_turn_release(struct cr_turn_s *t)
{
	if (t->state != CR_TURN_READY || !t->user[0] || t->released)
		return;
	t->released = true;
	t->method = _REFRESH;
	size_t n = _build(t, 0);
	if (n)
		t->send(t->opaque, &t->server, t->req, n);
	t->busy = false;
}

/* "stun:host[:port]", "turn:host[:port][?transport=udp]", "[v6]" hosts;
 * the name is resolved here (getaddrinfo: blocks the caller's thread). */
int cr_turn_resolve(const char *url, struct sockaddr_in6 *out, bool *tcp)
{
	const char *h = url + 5, *q = strchr(h, '?'), *end = q ? q : h + strlen(h), *colon = NULL;
	char host[256], port[16] = "3478";
	*tcp = q && strstr(q, "transport=tcp");
	if (h[0] == '[') {
		const char *c = memchr(h, ']', (size_t)(end - h));
		if (!c)
			return -EINVAL;
		snprintf(host, sizeof(host), "%.*s", (int)(c - h - 1), h + 1);
		colon = c + 1 < end && c[1] == ':' ? c + 1 : NULL;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		snprintf(host, sizeof(host), "%.*s", (int)((colon ? colon : end) - h), h);
	}
	if (colon)
		snprintf(port, sizeof(port), "%.*s", (int)(end - colon - 1), colon + 1);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM}, *res = NULL, *r;
	if (!host[0] || getaddrinfo(host, port, &hints, &res) != 0)
		return -ENOENT;
	for (r = res; r && r->ai_family != AF_INET; r = r->ai_next)
		;
	r = r ? r : res; /* IPv4 first: that is what TURN servers relay most */
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	memcpy(&ss, r->ai_addr, r->ai_addrlen <= sizeof(ss) ? r->ai_addrlen : sizeof(ss));
	freeaddrinfo(res);
	memset(out, 0, sizeof(*out));
	out->sin6_family = AF_INET6;
	if (ss.ss_family == AF_INET) {
		out->sin6_port = ((struct sockaddr_in *)&ss)->sin_port;
		out->sin6_addr.s6_addr[10] = out->sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->sin6_addr.s6_addr[12], &((struct sockaddr_in *)&ss)->sin_addr, 4);
	} else {
		*out = *(struct sockaddr_in6 *)&ss;
	}
	return 0;
}

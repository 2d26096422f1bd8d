/* ICE-lite on the shared WebRTC port: answering the viewers' checks,
 * candidate pairs, and consent freshness (RFC 7675) per pair.
 *
 * A valid check (right USERNAME and MESSAGE-INTEGRITY) from an address makes
 * it a pair, but a check proves nothing about the address it claims to come
 * from: anyone who knows the session's ICE password (the viewer itself) can
 * forge one from a victim's address. So every pair is checked back: we send
 * our own Binding request (ICE-CONTROLLED, signed with the viewer's
 * password) and media goes only to a pair whose answer came within [webrtc]
 * timeout; a nominated (USE-CANDIDATE) pair with consent is preferred.
 * Consent is refreshed every 4-6 s and expires per pair. */
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/rand.h"
#include "net/stun.h"
#include "net/whep_priv.h"

#define _PENDING_GAP_NS 500000000LL /* checks of a pair without consent yet */
#define _PENDING_TRIES 10           /* then it is left alone (a forged address does not answer) */
#define _FRESH_GAP_NS 4000000000LL  /* consent refresh: 4 s + up to 2 s (RFC 7675: 4-6 s) */

static void _gather(struct cr_whep_s *w)
{
	const struct cr_webrtc_cfg_s *c = &w->cfg->webrtc;
	w->n_candidates = 0;
	for (int i = 0; i < c->n_candidates && i < CR_MAX_CANDIDATES; i++)
		snprintf(w->candidates[w->n_candidates++], 64, "%s", c->candidates[i]);
	if (w->n_candidates)
		return;
	/* HTTP on loopback only (the default): so is media. */
	char host[128];
	snprintf(host, sizeof(host), "%s", w->cfg->http.listen);
	char *colon = strrchr(host, ':');
	if (colon)
		*colon = 0;
	struct in_addr a4;
	if ((inet_pton(AF_INET, host, &a4) == 1 && (ntohl(a4.s_addr) >> 24) == 127) || strcmp(host, "[::1]") == 0 ||
	    strcmp(host, "localhost") == 0) {
		snprintf(w->candidates[w->n_candidates++], 64, "%s", "127.0.0.1");
		return;
	}
	struct ifaddrs *ifs = NULL, *loop = NULL;
	if (getifaddrs(&ifs) == 0) {
		for (struct ifaddrs *i = ifs; i; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET || !(i->ifa_flags & IFF_UP))
				continue;
			if (i->ifa_flags & IFF_LOOPBACK) {
				loop = i;
				continue;
			}
			if (w->n_candidates < CR_MAX_CANDIDATES * 2 - 1)
				inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr,
					  w->candidates[w->n_candidates++], 64);
		}
		/* Then IPv6 addresses a browser elsewhere can reach (not link-local,
		 * which would need a scope). */
		for (struct ifaddrs *i = ifs; i && !w->v4_only; i = i->ifa_next) {
			if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET6 || !(i->ifa_flags & IFF_UP) ||
			    (i->ifa_flags & IFF_LOOPBACK))
				continue;
			const struct in6_addr *a6 = &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr;
			if (IN6_IS_ADDR_LINKLOCAL(a6) || IN6_IS_ADDR_V4MAPPED(a6))
				continue;
			if (w->n_candidates < CR_MAX_CANDIDATES * 2 - 1)
				inet_ntop(AF_INET6, a6, w->candidates[w->n_candidates++], 64);
		}
	}
	/* Loopback last: useful only to a browser on this machine. */
	snprintf(w->candidates[w->n_candidates++], 64, "%s", "127.0.0.1");
	(void)loop;
	freeifaddrs(ifs);
}

/* The addresses announced, also as v4-mapped binary for cr_whep_ice_announced. */
void cr_whep_ice_gather(struct cr_whep_s *w)
{
	_gather(w);
	for (int i = 0; i < w->n_candidates; i++) {
		struct in_addr a4;
		struct in6_addr *a = &w->candidate_addrs[i];
		memset(a, 0, sizeof(*a));
		if (inet_pton(AF_INET, w->candidates[i], &a4) == 1) {
			a->s6_addr[10] = a->s6_addr[11] = 0xff;
			memcpy(&a->s6_addr[12], &a4, 4);
		} else {
			inet_pton(AF_INET6, w->candidates[i], a);
		}
	}
}

/* Whether local (where a datagram arrived) is an announced candidate; the
 * socket listens on every address, announced ones are all that may be used. */
bool cr_whep_ice_announced(const struct cr_whep_s *w, const struct in6_addr *local)
{
	if (IN6_IS_ADDR_UNSPECIFIED(local))
		return true;
	for (int i = 0; i < w->n_candidates; i++)
		if (IN6_ARE_ADDR_EQUAL(&w->candidate_addrs[i], local))
			return true;
	return false;
}

struct cr_whep_viewer_s *cr_whep_ice_viewer_by_addr(struct cr_whep_s *w, const struct sockaddr_in6 *from)
{
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next)
		for (int i = 0; i < v->n_pairs; i++)
			if (cr_whep_same_addr(&v->pairs[i].addr, from))
				return v;
	return NULL;
}

static bool _fresh(const struct cr_whep_viewer_s *v, const struct cr_whep_pair_s *p, int64_t now)
{
	return p->consent_ns && now - p->consent_ns <= v->w->timeout_ns;
}

/* Media to the nominated pair with consent, else the current one while it
 * keeps consent, else any with consent; none: nothing is sent. */
static void _select(struct cr_whep_viewer_s *v, int64_t now)
{
	int best = v->dest >= 0 && _fresh(v, &v->pairs[v->dest], now) ? v->dest : -1;
	for (int i = 0; i < v->n_pairs; i++)
		if (_fresh(v, &v->pairs[i], now) && (best < 0 || (v->pairs[i].nominated && !v->pairs[best].nominated)))
			best = i;
	if (best == v->dest)
		return;
	v->dest = best;
	v->has_addr = best >= 0;
	if (best < 0) {
		CR_LOG_I("whep", "viewer %s: no address with ICE consent; media paused", v->id);
		return;
	}
	v->addr = v->pairs[best].addr;
	v->local = v->pairs[best].local;
	cr_whep_addr_text(&v->addr, v->info.remote, sizeof(v->info.remote));
	CR_LOG_D("whep", "viewer %s: media to %s", v->id, v->info.remote);
}

static void _check(struct cr_whep_viewer_s *v, struct cr_whep_pair_s *p, int64_t now)
{
	char user[200];
	uint8_t out[400];
	snprintf(user, sizeof(user), "%s:%s", v->remote_ufrag, v->ufrag);
	if (getrandom(p->tid, sizeof(p->tid), 0) != sizeof(p->tid))
		return;
	size_t n = cr_stun_check_request(out, sizeof(out), p->tid, user, v->remote_pwd, strlen(v->remote_pwd), false,
					 false);
	if (n)
		cr_whep_sendto(v->w, out, n, &p->addr, &p->local);
	p->checked_ns = now;
	p->tries++;
}

/* Spreads consent checks (RFC 7675: 4..6 s apart, random). A check is not
 * a secret, so no system call per viewer and tick: core/rand.h, seeded once
 * per loop from getrandom. */
static uint32_t _jitter(struct cr_whep_s *w)
{
	if (!w->jitter && (getrandom(&w->jitter, sizeof(w->jitter), 0) != sizeof(w->jitter) || !w->jitter))
		w->jitter = 0x9e3779b97f4a7c15ull;
	return cr_xorshift32(&w->jitter);
}

void cr_whep_ice_tick(struct cr_whep_viewer_s *v, int64_t now)
{
	for (int i = 0; i < v->n_pairs; i++) {
		struct cr_whep_pair_s *p = &v->pairs[i];
		uint32_t r = _jitter(v->w);
		int64_t gap = p->consent_ns ? _FRESH_GAP_NS + (int64_t)(r % 2000) * 1000000LL : _PENDING_GAP_NS;
		if (now - p->checked_ns >= gap && (p->consent_ns || p->tries < _PENDING_TRIES))
			_check(v, p, now);
	}
	_select(v, now);
}

/* An answer to one of our checks: consent for that pair. */
static void _on_answer(struct cr_whep_s *w, const uint8_t *p, size_t len, const struct cr_stun_msg_s *m,
		       const struct sockaddr_in6 *from)
{
	for (struct cr_whep_viewer_s *v = w->viewers; v; v = v->next)
		for (int i = 0; i < v->n_pairs; i++) {
			struct cr_whep_pair_s *pair = &v->pairs[i];
			if (memcmp(pair->tid, m->tid, sizeof(m->tid)) != 0 || !cr_whep_same_addr(&pair->addr, from))
				continue;
			if (!cr_stun_check_integrity(p, len, m, v->remote_pwd, strlen(v->remote_pwd))) {
				w->stats.stun_bad++;
				return;
			}
			int64_t now = cr_now_ns();
			pair->consent_ns = v->consent_ns = now;
			pair->tries = 0;
			memset(pair->tid, 0, sizeof(pair->tid)); /* one answer per check */
			_select(v, now);
			return;
		}
	w->stats.stun_bad++;
}

/* The pair for from, added (checked at once) when new. With all slots
 * taken, the oldest one that is not the destination gives way. */
static struct cr_whep_pair_s *_pair(struct cr_whep_viewer_s *v, const struct sockaddr_in6 *from,
				    const struct in6_addr *local)
{
	for (int i = 0; i < v->n_pairs; i++)
		if (cr_whep_same_addr(&v->pairs[i].addr, from))
			return &v->pairs[i];
	int slot = v->n_pairs;
	if (slot == CR_WHEP_MAX_ADDRS) {
		slot = -1;
		for (int i = 0; i < v->n_pairs; i++)
			if (i != v->dest && (slot < 0 || v->pairs[i].consent_ns < v->pairs[slot].consent_ns))
				slot = i;
	} else {
		v->n_pairs++;
	}
	struct cr_whep_pair_s *p = &v->pairs[slot];
	*p = (struct cr_whep_pair_s){.addr = *from, .local = *local};
	_check(v, p, cr_now_ns());
	return p;
}

void cr_whep_ice_stun(struct cr_whep_s *w, const uint8_t *p, size_t len, const struct sockaddr_in6 *from,
		      const struct in6_addr *local)
{
	struct cr_stun_msg_s m;
	if (cr_stun_parse(p, len, &m) < 0) {
		w->stats.stun_bad++;
		return;
	}
	if (m.type == CR_STUN_BINDING_SUCCESS) {
		_on_answer(w, p, len, &m, from);
		return;
	}
	if (m.type != CR_STUN_BINDING_REQUEST)
		return; /* indications keep NAT bindings; nothing to do */
	const uint8_t *colon = m.username ? memchr(m.username, ':', m.username_len) : NULL;
	if (!colon) {
		w->stats.stun_bad++;
		return;
	}
	size_t ll = (size_t)(colon - m.username), rl = m.username_len - ll - 1;
	struct cr_whep_viewer_s *v;
	for (v = w->viewers; v; v = v->next)
		/* memcmp first: a random ufrag differs at its first byte (this runs
		 * for every viewer on each request). */
		if (ll < sizeof(v->ufrag) && memcmp(v->ufrag, m.username, ll) == 0 && strlen(v->ufrag) == ll)
			break;
	if (!v || (v->remote_ufrag[0] && (strlen(v->remote_ufrag) != rl ||
					  memcmp(v->remote_ufrag, colon + 1, rl) != 0)) ||
	    !cr_stun_check_integrity(p, len, &m, v->pwd, strlen(v->pwd))) {
		w->stats.stun_bad++;
		return;
	}
	uint8_t out[256];
	struct sockaddr_storage mapped; /* the peer's own family for XOR-MAPPED-ADDRESS */
	cr_whep_plain(from, IN6_IS_ADDR_V4MAPPED(&from->sin6_addr), &mapped);
	size_t n = cr_stun_binding_response(out, sizeof(out), m.tid, (const struct sockaddr *)&mapped, v->pwd,
					    strlen(v->pwd));
	if (n)
		cr_whep_sendto(w, out, n, from, local);
	struct cr_whep_pair_s *pair = _pair(v, from, local);
	if (m.use_candidate && !pair->nominated) {
		for (int i = 0; i < v->n_pairs; i++)
			v->pairs[i].nominated = false;
		pair->nominated = true;
		_select(v, cr_now_ns());
	}
}

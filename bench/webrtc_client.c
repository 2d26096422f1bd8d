/* A light WHEP receiver for benchmarks and the fan-out test: N sessions in
 * one process, each doing what a browser must (offer, STUN with
 * USE-CANDIDATE, DTLS-SRTP as client, consent every 2 s) and then counting
 * the SRTP packets and checking each one's authentication tag (libsrtp2
 * unprotect with the keys its own handshake exported), but decoding
 * nothing, so the figures measure the server.
 *   bench_webrtc_client HOST HTTP_PORT STREAM N SECONDS [cm]
 *     cm: offer only SRTP_AES128_CM_SHA1_80 (default: AEAD_AES_128_GCM first,
 *     then AES128_CM_SHA1_80, as Chromium does)
 *   bench_webrtc_client --srtp     (SRTP protect cost per 1200-byte packet)
 * BENCH_NACK_EVERY=k: every k-th video packet is taken as lost and NACKed,
 * and the retransmission checked against it byte for byte (one more JSON
 * line per session: nacks_sent, rtx_ok, rtx_bad, rtx_unknown).
 * Prints one JSON line (also on SIGTERM/SIGINT, after DELETEing its
 * sessions); seq_lost: RTP sequence numbers that never arrived (each
 * session's first SSRC). BENCH_ANNOUNCE=1: one stderr line per session as it
 * is offered, "viewer I ID LOCATION" (ID: X-Viewer-Id, as /api/webrtc names
 * it). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "net/srtp.h"
#include "net/srtp_tx.h"
#include "net/stun.h"

#define MAXN 2000

struct sess_s {
	int fd;
	struct sockaddr_in server;
	char ufrag[64], pwd[128], location[160];
	SSL *ssl;
	BIO *rb, *wb;
	int state; /* 0 stun, 1 dtls, 2 media, -1 failed */
	struct cr_srtp_s *srtp; /* the server's keys, once DTLS is done */
	int gcm;
	uint64_t packets, bytes, auth_ok, auth_failed;
	int64_t next_consent;
	/* RTP sequence numbers of the first SSRC seen (extended over wrap):
	 * what never arrived, for the soak's lossy viewer. */
	uint32_t ssrc;
	int64_t seq_first, seq_max;
	bool seq_started;
	uint64_t seq_packets; /* packets of that SSRC received */
	/* BENCH_NACK_EVERY=k: every k-th packet of that SSRC is taken as lost:
	 * kept (decrypted), NACKed once, and the retransmission that comes back
	 * (RTX: original sequence number first) compared with it byte for byte. */
	struct nack_s *nack;
	int n_nack;
	uint64_t nacks_sent, rtx_ok, rtx_bad, rtx_unknown;
	int first_seq;
};

#define _NACK_KEEP 64
struct nack_s {
	uint16_t seq;
	uint32_t ts;
	bool marker, answered;
	uint16_t len;
	uint8_t payload[1500];
};
static int _nack_every;

static SSL_CTX *ctx;
static char fingerprint[100];

static int _http(const char *host, int port, const char *method, const char *path, const char *body,
		 char *out, size_t cap)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, host, &a.sin_addr);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	char req[8192];
	int n = snprintf(req, sizeof(req),
			 "%s %s HTTP/1.0\r\nHost: %s\r\nContent-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
			 method, path, host, body ? strlen(body) : 0, body ? body : "");
	if (write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	size_t got = 0;
	ssize_t r;
	while (got + 1 < cap && (r = read(fd, out + got, cap - got - 1)) > 0)
		got += (size_t)r;
	out[got] = 0;
	close(fd);
	return atoi(out + 9);
}

static void _attr(const char *sdp, const char *key, char *out, size_t n)
{
	const char *p = strstr(sdp, key);
	out[0] = 0;
	if (!p)
		return;
	p += strlen(key);
	size_t k = 0;
	while (p[k] && p[k] != '\r' && p[k] != '\n' && k + 1 < n)
		k++;
	memcpy(out, p, k);
	out[k] = 0;
}

static void _send_stun(struct sess_s *s, const char *local_ufrag)
{
	uint8_t tid[12], buf[512];
	char user[200];
	RAND_bytes(tid, sizeof(tid));
	snprintf(user, sizeof(user), "%s:%s", s->ufrag, local_ufrag);
	size_t n = cr_stun_binding_request(buf, sizeof(buf), tid, user, s->pwd, strlen(s->pwd), true);
	sendto(s->fd, buf, n, 0, (struct sockaddr *)&s->server, sizeof(s->server));
}

static void _flush_dtls(struct sess_s *s)
{
	uint8_t buf[4096];
	int n;
	while ((n = BIO_read(s->wb, buf, sizeof(buf))) > 0)
		sendto(s->fd, buf, (size_t)n, 0, (struct sockaddr *)&s->server, sizeof(s->server));
}

/* RFC 5764 4.2: client key, server key, client salt, server salt. The
 * server's half unprotects what it sends. */
static int _srtp_keys(struct sess_s *s)
{
	const SRTP_PROTECTION_PROFILE *prof = SSL_get_selected_srtp_profile(s->ssl);
	if (!prof)
		return -1;
	struct cr_srtp_keys_s k = {0};
	size_t klen = 16, slen;
	if (prof->id == SRTP_AEAD_AES_128_GCM)
		k.profile = CR_SRTP_AEAD_AES_128_GCM, slen = 12, s->gcm = 1;
	else
		k.profile = CR_SRTP_AES128_CM_SHA1_80, slen = 14;
	uint8_t km[2 * (16 + 14)];
	if (SSL_export_keying_material(s->ssl, km, 2 * (klen + slen), "EXTRACTOR-dtls_srtp", 19, NULL, 0, 0) != 1)
		return -1;
	memcpy(k.local, km, klen);
	memcpy(k.local + klen, km + 2 * klen, slen);
	memcpy(k.remote, km + klen, klen);
	memcpy(k.remote + klen, km + 2 * klen + slen, slen);
	k.len = klen + slen;
	char err[200];
	s->srtp = cr_srtp_new(&k, err, sizeof(err));
	return s->srtp ? 0 : -1;
}

static int _setup_ctx(bool cm_only)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC, (const unsigned char *)"bench", -1, -1, 0);
	X509_set_issuer_name(x, X509_get_subject_name(x));
	X509_sign(x, key, EVP_sha256());
	unsigned char md[32];
	unsigned mdlen;
	X509_digest(x, EVP_sha256(), md, &mdlen);
	for (unsigned i = 0; i < mdlen; i++)
		sprintf(fingerprint + 3 * i, "%02X%s", md[i], i + 1 < mdlen ? ":" : "");
	ctx = SSL_CTX_new(DTLS_client_method());
	SSL_CTX_use_certificate(ctx, x);
	SSL_CTX_use_PrivateKey(ctx, key);
	/* As browsers do: GCM first. */
	SSL_CTX_set_tlsext_use_srtp(ctx, cm_only ? "SRTP_AES128_CM_SHA1_80"
						 : "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	X509_free(x);
	EVP_PKEY_free(key);
	return 0;
}

static int _srtp_bench(void)
{
	for (int prof = CR_SRTP_AES128_CM_SHA1_80; prof <= CR_SRTP_AEAD_AES_128_GCM; prof++) {
		struct cr_srtp_keys_s k = {.profile = prof, .len = prof == CR_SRTP_AEAD_AES_128_GCM ? 28 : 30};
		RAND_bytes(k.local, 30);
		RAND_bytes(k.remote, 30);
		char err[256];
		struct cr_srtp_s *s = cr_srtp_new(&k, err, sizeof(err));
		if (!s)
			return 1;
		uint8_t pkt[1500] = {0x80, 96};
		const int n = 200000;
		/* camrelay's send path (OpenSSL, net/srtp_tx.c), then libsrtp2's. */
		for (int lib = 0; lib < 2; lib++) {
			int64_t t0 = cr_now_ns();
			for (int i = 0; i < n; i++) {
				pkt[2] = (uint8_t)(i >> 8);
				pkt[3] = (uint8_t)i;
				size_t len = 1200;
				if (lib)
					cr_srtp_protect_libsrtp(s, pkt, &len);
				else
					cr_srtp_protect(s, pkt, &len);
			}
			int64_t t1 = cr_now_ns();
			printf("{\"srtp_profile\": \"%s\", \"library\": \"%s\", \"packet_bytes\": 1200, "
			       "\"ns_per_packet\": %.0f}\n",
			       prof == CR_SRTP_AEAD_AES_128_GCM ? "AEAD_AES_128_GCM" : "AES128_CM_SHA1_80",
			       lib ? "libsrtp2" : "openssl", (double)(t1 - t0) / n);
		}
		cr_srtp_free(s);
	}
	return 0;
}

/* A packet of the video SSRC, decrypted: every _nack_every-th is kept and
 * NACKed (RFC 4585 generic NACK over SRTCP with this client's keys). */
static void _nack_keep(struct sess_s *s, const uint8_t *p, size_t len)
{
	size_t h = cr_rtp_header_len(p, len);
	if (!h || s->seq_packets % (uint64_t)_nack_every != 0)
		return;
	if (!s->nack && !(s->nack = calloc(_NACK_KEEP, sizeof(*s->nack))))
		return;
	struct nack_s *e = &s->nack[s->n_nack++ % _NACK_KEEP];
	e->seq = (uint16_t)(p[2] << 8 | p[3]);
	e->ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	e->marker = (p[1] & 0x80) != 0;
	e->answered = false;
	e->len = (uint16_t)(len - h);
	memcpy(e->payload, p + h, len - h);
	uint8_t rtcp[64] = {0x81, 205, 0, 3, 0, 0, 0, 1};
	rtcp[8] = (uint8_t)(s->ssrc >> 24), rtcp[9] = (uint8_t)(s->ssrc >> 16);
	rtcp[10] = (uint8_t)(s->ssrc >> 8), rtcp[11] = (uint8_t)s->ssrc;
	rtcp[12] = p[2], rtcp[13] = p[3]; /* PID, BLP 0 */
	size_t rl = 16;
	if (cr_srtp_protect_rtcp(s->srtp, rtcp, &rl) == 0) {
		sendto(s->fd, rtcp, rl, 0, (struct sockaddr *)&s->server, sizeof(s->server));
		s->nacks_sent++;
	}
}

/* An RTX packet (another SSRC, decrypted): the original it names must be
 * the packet kept, byte for byte (timestamp, marker, payload). */
static void _nack_check(struct sess_s *s, const uint8_t *p, size_t len)
{
	size_t h = cr_rtp_header_len(p, len);
	if (!h || len < h + 2)
		return;
	uint16_t osn = (uint16_t)(p[h] << 8 | p[h + 1]);
	uint32_t ts = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
	for (int i = 0; i < _NACK_KEEP && s->nack; i++) {
		struct nack_s *e = &s->nack[i];
		if (e->len == 0 || e->seq != osn || e->answered)
			continue;
		e->answered = true;
		bool same = e->ts == ts && e->marker == ((p[1] & 0x80) != 0) && e->len == len - h - 2 &&
			    memcmp(e->payload, p + h + 2, e->len) == 0;
		if (same)
			s->rtx_ok++;
		else
			s->rtx_bad++;
		return;
	}
	s->rtx_unknown++;
}

#define _PWD "benchbenchbenchbenchbench" /* this client's ice-pwd */
#define _UFRAG "bnch"
#define _RBATCH 32
/* BENCH_VERIFY_EVERY=k: authenticate one packet in k per session (the first
 * of each k), for runs where the client would fall behind checking all. */
static int _verify_every = 1;
static uint8_t rbuf[_RBATCH][2048];
static struct iovec riov[_RBATCH];
static struct mmsghdr rmsg[_RBATCH];

static void _input(struct sess_s *s, uint8_t *buf, size_t r)
{
	struct cr_stun_msg_s m;
	if (cr_stun_is(buf, r) && cr_stun_parse(buf, r, &m) == 0 && m.type == CR_STUN_BINDING_REQUEST) {
		/* The server's consent check (RFC 7675): media flows only while
		 * they are answered. */
		uint8_t out[256];
		size_t n = cr_stun_binding_response(out, sizeof(out), m.tid, (const struct sockaddr *)&s->server,
						    _PWD, strlen(_PWD));
		if (n)
			sendto(s->fd, out, n, 0, (struct sockaddr *)&s->server, sizeof(s->server));
		return;
	}
	if (buf[0] < 4 && s->state == 0) {
		s->state = 1;
		SSL_do_handshake(s->ssl);
		_flush_dtls(s);
	} else if (buf[0] >= 20 && buf[0] <= 63) {
		BIO_write(s->rb, buf, (int)r);
		if (SSL_do_handshake(s->ssl) == 1 && s->state == 1) {
			s->state = _srtp_keys(s) == 0 ? 2 : -1;
			if (s->state < 0)
				fprintf(stderr, "session %s: no SRTP keys from DTLS\n", s->location);
		}
		_flush_dtls(s);
	} else if (buf[0] >= 128 && buf[0] <= 191 && s->srtp) {
		/* RTCP (payload types 200-206 after the marker bit) is not counted. */
		int pt = buf[1] & 0x7f;
		if (r >= 2 && pt >= 72 && pt <= 79)
			return;
		s->packets++;
		s->bytes += (uint64_t)r;
		if (r >= 12) {
			uint32_t ssrc = (uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 | (uint32_t)buf[10] << 8 | buf[11];
			uint16_t seq = (uint16_t)(buf[2] << 8 | buf[3]);
			if (!s->seq_started) {
				s->seq_started = true;
				s->ssrc = ssrc;
				s->seq_first = s->seq_max = seq;
				s->seq_packets = 0;
				s->first_seq = seq;
			}
			if (ssrc == s->ssrc) {
				/* the extended number nearest to the highest so far */
				int64_t ext = (s->seq_max & ~(int64_t)0xffff) | seq;
				if (ext < s->seq_max - 32768)
					ext += 65536;
				else if (ext > s->seq_max + 32768)
					ext -= 65536;
				if (ext > s->seq_max)
					s->seq_max = ext;
				s->seq_packets++;
			}
		}
		size_t len = r;
		if (_verify_every > 1 && s->packets % (uint64_t)_verify_every != 1)
			return; /* not checked: BENCH_VERIFY_EVERY */
		if (cr_srtp_unprotect(s->srtp, buf, &len) == 0) {
			s->auth_ok++;
			if (_nack_every > 0 && len >= 12 && (buf[1] & 0x7f) == 103)
				_nack_check(s, buf, len); /* RTX (the offer's 103) */
			else if (_nack_every > 0 && len >= 12 && s->ssrc == ((uint32_t)buf[8] << 24 | (uint32_t)buf[9] << 16 |
								  (uint32_t)buf[10] << 8 | buf[11]))
				_nack_keep(s, buf, len);
		} else {
			s->auth_failed++;
		}
	}
}

static volatile sig_atomic_t _stop; /* SIGTERM/SIGINT: report and leave early */

static void _on_signal(int sig) { _stop = 1; }

/* Reads what arrived, answers DTLS timers and sends consent: one round over
 * the first n sessions. Returns how many are in media. */
static int _service(struct sess_s *ss, struct pollfd *pfd, int n, int timeout_ms)
{
	poll(pfd, (nfds_t)n, timeout_ms);
	int64_t now = cr_now_ns();
	int in_media = 0;
	for (int i = 0; i < n; i++) {
		struct sess_s *s = &ss[i];
		int got;
		while ((got = recvmmsg(s->fd, rmsg, _RBATCH, 0, NULL)) > 0)
			for (int k = 0; k < got; k++)
				_input(s, rbuf[k], rmsg[k].msg_len);
		if (s->state == 1) { /* DTLS retransmission */
			struct timeval tv;
			if (DTLSv1_get_timeout(s->ssl, &tv) && tv.tv_sec == 0 && tv.tv_usec == 0) {
				DTLSv1_handle_timeout(s->ssl);
				_flush_dtls(s);
			}
		}
		if (now >= s->next_consent) {
			_send_stun(s, _UFRAG);
			s->next_consent = now + 2000000000LL;
		}
		in_media += s->state == 2;
	}
	return in_media;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "--srtp") == 0)
		return _srtp_bench();
	if (argc != 6 && !(argc == 7 && strcmp(argv[6], "cm") == 0)) {
		fprintf(stderr, "usage: bench_webrtc_client HOST HTTP_PORT STREAM N SECONDS [cm] | --srtp\n");
		return 2;
	}
	const char *host = argv[1];
	int port = atoi(argv[2]), n = atoi(argv[4]);
	double seconds = atof(argv[5]);
	if (n < 1 || n > MAXN)
		return 2;
	_setup_ctx(argc == 7);
	const char *every = getenv("BENCH_VERIFY_EVERY");
	bool announce = getenv("BENCH_ANNOUNCE") != NULL;
	if (every && atoi(every) > 1)
		_verify_every = atoi(every);
	const char *nack_every = getenv("BENCH_NACK_EVERY");
	if (nack_every && atoi(nack_every) > 0)
		_nack_every = atoi(nack_every), _verify_every = 1;
	/* One socket per session: 1000 viewers need more than 1024 files. */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	static struct sess_s ss[MAXN];
	static char offer[4096], resp[65536];
	const char *local_ufrag = _UFRAG;
	static struct pollfd pfd[MAXN];
	for (int k = 0; k < _RBATCH; k++) {
		riov[k] = (struct iovec){rbuf[k], sizeof(rbuf[k])};
		rmsg[k].msg_hdr = (struct msghdr){.msg_iov = &riov[k], .msg_iovlen = 1};
	}
	signal(SIGTERM, _on_signal);
	signal(SIGINT, _on_signal);
	/* BENCH_TWCC=1: offer transport-cc (never answered with feedback: the
	 * server's estimate stays at its start value, and it paces at that). */
	const char *twcc_env = getenv("BENCH_TWCC");
	bool twcc = twcc_env && *twcc_env == '1';
	static const char twcc_lines[] =
		"a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n"
		"a=rtcp-fb:102 transport-cc\r\n";
	snprintf(offer, sizeof(offer),
		 "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\n"
		 "m=video 9 UDP/TLS/RTP/SAVPF 102 103\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n"
		 "a=ice-ufrag:%s\r\na=ice-pwd:%s\r\na=fingerprint:sha-256 %s\r\n"
		 "a=setup:actpass\r\na=mid:0\r\na=recvonly\r\na=rtcp-mux\r\n"
		 "a=rtpmap:102 H264/90000\r\na=rtcp-fb:102 nack\r\na=rtcp-fb:102 nack pli\r\n"
		 "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n"
		 "a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\n"
		 "a=rtpmap:96 VP8/90000\r\n%s",
		 local_ufrag, _PWD, fingerprint, twcc ? twcc_lines : "");
	/* The m= line lists 102 103; VP8 96 is only there when a stream sends VP8. */
	char path[200];
	snprintf(path, sizeof(path), "/whep/%s", argv[3]);
	for (int i = 0; i < n; i++) {
		struct sess_s *s = &ss[i];
		int st = _http(host, port, "POST", path, offer, resp, sizeof(resp));
		if (st != 201) {
			fprintf(stderr, "POST %s: %d\n%s\n", path, st, resp);
			return 1;
		}
		char *body = strstr(resp, "\r\n\r\n");
		_attr(body, "a=ice-ufrag:", s->ufrag, sizeof(s->ufrag));
		_attr(body, "a=ice-pwd:", s->pwd, sizeof(s->pwd));
		_attr(resp, "Location: ", s->location, sizeof(s->location));
		if (announce) { /* BENCH_ANNOUNCE: which viewer of /api/webrtc each session is */
			char vid[64];
			_attr(resp, "X-Viewer-Id: ", vid, sizeof(vid));
			fprintf(stderr, "viewer %d %s %s\n", i, vid, s->location);
			fflush(stderr);
		}
		char cand[200], ip[64];
		int cport = 0;
		_attr(body, "a=candidate:", cand, sizeof(cand));
		if (sscanf(cand, "%*s %*s %*s %*s %63s %d", ip, &cport) != 2)
			return 1;
		s->server.sin_family = AF_INET;
		s->server.sin_port = htons((uint16_t)cport);
		inet_pton(AF_INET, ip, &s->server.sin_addr);
		s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
		if (s->fd < 0) {
			perror("socket");
			return 1;
		}
		/* Room for a stall of the client (it shares the machine with the
		 * server): a full buffer would also lose the server's consent checks.
		 * FORCE passes net.core.rmem_max when run as root. */
		int rcv = 2 << 20;
		if (setsockopt(s->fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcv, sizeof(rcv)) < 0)
			setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
		s->ssl = SSL_new(ctx);
		s->rb = BIO_new(BIO_s_mem());
		s->wb = BIO_new(BIO_s_mem());
		BIO_set_mem_eof_return(s->rb, -1);
		SSL_set_bio(s->ssl, s->rb, s->wb);
		SSL_set_connect_state(s->ssl);
		_send_stun(s, local_ufrag);
		s->next_consent = cr_now_ns() + 2000000000LL;
		pfd[i] = (struct pollfd){.fd = s->fd, .events = POLLIN};
		/* Keep the sessions already offered going (ICE, DTLS, consent)
		 * while the next are offered: 1000 offers take a while. */
		_service(ss, pfd, i + 1, 0);
	}
	int64_t end = cr_now_ns() + (int64_t)(seconds * 1e9), media_start = 0;
	uint64_t packets_at_start = 0, bytes_at_start = 0;
	while (cr_now_ns() < end && !_stop) {
		int in_media = _service(ss, pfd, n, 100);
		if (!media_start && in_media == n) {
			media_start = cr_now_ns();
			for (int i = 0; i < n; i++)
				packets_at_start += ss[i].packets, bytes_at_start += ss[i].bytes;
		}
	}
	uint64_t packets = 0, bytes = 0, auth_ok = 0, auth_failed = 0, min_packets = UINT64_MAX, seq_lost = 0;
	int connected = 0, gcm = 0;
	for (int i = 0; i < n; i++) {
		packets += ss[i].packets;
		bytes += ss[i].bytes;
		auth_ok += ss[i].auth_ok;
		auth_failed += ss[i].auth_failed;
		if (ss[i].packets < min_packets)
			min_packets = ss[i].packets;
		connected += ss[i].state == 2;
		gcm += ss[i].gcm;
		if (ss[i].seq_started && (uint64_t)(ss[i].seq_max - ss[i].seq_first + 1) > ss[i].seq_packets)
			seq_lost += (uint64_t)(ss[i].seq_max - ss[i].seq_first + 1) - ss[i].seq_packets;
		cr_srtp_free(ss[i].srtp);
		_http(host, port, "DELETE", ss[i].location, NULL, resp, sizeof(resp));
	}
	double dt = media_start ? (cr_now_ns() - media_start) / 1e9 : 0;
	printf("{\"sessions\": %d, \"connected\": %d, \"gcm_sessions\": %d, \"packets\": %llu, \"bytes\": %llu, "
	       "\"auth_ok\": %llu, \"auth_failed\": %llu, \"min_packets_per_session\": %llu, \"seq_lost\": %llu, "
	       "\"seconds_all_connected\": %.2f, \"mbit_per_s_total\": %.2f, \"packets_per_s_total\": %.1f}\n",
	       n, connected, gcm, (unsigned long long)packets, (unsigned long long)bytes,
	       (unsigned long long)auth_ok, (unsigned long long)auth_failed, (unsigned long long)min_packets,
	       (unsigned long long)seq_lost, dt,
	       dt > 0 ? (bytes - bytes_at_start) * 8 / dt / 1e6 : 0.0,
	       dt > 0 ? (packets - packets_at_start) / dt : 0.0);
	/* BENCH_NACK_EVERY: one more line per session. */
	for (int i = 0; i < n && _nack_every > 0; i++)
		printf("{\"session\": %d, \"first_seq\": %d, \"nacks_sent\": %llu, \"rtx_ok\": %llu, \"rtx_bad\": %llu, "
		       "\"rtx_unknown\": %llu}\n",
		       i, ss[i].first_seq, (unsigned long long)ss[i].nacks_sent, (unsigned long long)ss[i].rtx_ok,
		       (unsigned long long)ss[i].rtx_bad, (unsigned long long)ss[i].rtx_unknown);
	return connected == n ? 0 : 1;
}

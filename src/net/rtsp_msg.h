/* RTSP 1.0 (RFC 2326) messages: the request/response parser the server
 * (net/rtsp.c) and the push sink (sink/rtsp.c) share, the Transport header
 * and rtsp:// URLs. Written by hand: no Debian C library parses RTSP without
 * bringing its own media stack (live555, GStreamer's gstrtsp with GLib), and
 * the subset is small. Parses outside input: every length is bounded and
 * checked (fuzzed by tests/fuzz/fuzz_rtsp.c). */
#ifndef CR_RTSP_MSG_H
#define CR_RTSP_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CR_RTSP_MAX_HEAD 8192 /* request/status line and headers */
#define CR_RTSP_MAX_BODY 8192
#define CR_RTSP_MAX_HEADERS 64

struct cr_rtsp_msg_s {
	bool response;
	char method[24];  /* request: "DESCRIBE" */
	char uri[1024];   /* request */
	int status;       /* response: 200 */
	int cseq;         /* -1 when absent */
	char session[128];/* up to ';' (the timeout parameter is cut) */
	int session_timeout; /* response: ;timeout=, 0 when absent */
	char transport[512];
	char authorization[1024];
	char www_authenticate[512]; /* response: the first Digest challenge, else the first one */
	char content_type[64];
	char rtp_info[256];
	size_t content_length;
	const uint8_t *body; /* content_length bytes inside the parsed buffer */
};

/* Parses one message at the start of buf. Returns the bytes it takes
 * (head and body, > 0), 0 while more bytes are needed, or the negated RTSP
 * status to answer with before closing: -400 (malformed, no or bad CSeq in
 * a request), -413 (head or body too large), -505 (not RTSP/1.0). */
int cr_rtsp_parse(const uint8_t *buf, size_t len, struct cr_rtsp_msg_s *m);

/* One transport specification (the first of a Transport header's list that
 * is RTP/AVP over UDP or TCP). */
struct cr_rtsp_transport_s {
	bool tcp;             /* RTP/AVP/TCP */
	bool multicast;       /* "multicast" rather than "unicast" */
	int client_port[2];   /* -1 when absent */
	int interleaved[2];   /* -1 when absent */
	bool record;          /* mode=record */
};
/* 0, or -EINVAL when no specification is usable or a number is out of
 * range (ports 1..65535, channels 0..255, the second one the first + 1). */
int cr_rtsp_parse_transport(const char *text, struct cr_rtsp_transport_s *t);

struct cr_rtsp_url_s {
	char user[128], pass[128]; /* percent-decoded */
	char host[256];            /* without [] for IPv6 */
	int port;                  /* 554 when absent */
	char path[512];            /* after the authority, without the query, no leading '/' */
	char query[512];           /* after '?' */
};
/* rtsp://[user[:pass]@]host[:port][/path][?query], or a bare path
 * ("/stream", as some clients send in requests). 0 or -EINVAL. */
int cr_rtsp_parse_url(const char *url, struct cr_rtsp_url_s *u);
/* MD5 of text as 32 lower-case hex digits, for Digest (RFC 2617) on both
 * sides: the server's check and the push sink's answer (rtsp_auth.c). */
void cr_rtsp_md5_hex(const char *text, char out[33]);
/* in[0..n) as base64 (with padding) into out (4 * ((n + 2) / 3) + 1
 * bytes), for the push sink's Basic. */
void cr_rtsp_base64(const void *in, size_t n, char *out);
/* The value of key in a query string (k=v&k2=v2), percent-decoded. */
bool cr_rtsp_query_get(const char *query, const char *key, char *out, size_t cap);
/* key="value" or key=value of an auth header's parameters (a Digest
 * Authorization, a WWW-Authenticate challenge): the key must start the header's
 * parameters or follow a space or comma ("nonce" never matches "cnonce").
 * False when absent, unterminated or longer than cap - 1. */
bool cr_rtsp_header_param(const char *h, const char *key, char *out, size_t cap);

#endif

/* The page, at / (every stream the caller may see) and /play/<stream> (one):
 * a server-rendered frame per stream (so that a page without its script
 * still lists what the caller may see), filled in and kept live by the
 * script in page/page.js (pictures over WebRTC else MJPEG, the
 * glass-to-glass meter, figures and plots, URLs, camera controls). Script
 * and style are embedded at build time (page/embed.py): no external assets,
 * it works offline. */
#include <stdlib.h>
#include <string.h>

#include "net/http_access.h"
#include "net/http_priv.h"
#include "net/rtsp.h"
#include "net/whep.h"
#include "page_assets.h"

static void _esc(struct evbuffer *b, const char *s)
{
	char *e = evhttp_htmlescape(s);
	if (e) {
		evbuffer_add(b, e, strlen(e));
		free(e);
	}
}

static bool _has_rtp_sink(const struct cr_stream_cfg_s *c)
{
	for (int i = 0; i < c->n_sinks; i++)
		if (c->sinks[i]->type == CR_SINK_RTP)
			return true;
	return false;
}

static void _card(struct cr_http_s *h, struct evhttp_request *req, struct evbuffer *b, int i, const char *tq)
{
	const char *name = cr_stream_name(h->streams[i]); /* [A-Za-z0-9_-] (config schema) */
	struct cr_stream_status_s st;
	cr_stream_status(h->streams[i], &st);
	/* A stream that bridges a data channel: its label (any config text) for the message panel. */
	const struct cr_datachannel_cfg_s *dcc = cr_whep_dc_config(h->whep, i);
	evbuffer_add_printf(b, "<section class=\"card\" id=\"st-%s\" data-n=\"%s\" data-sdp=\"%d\"", name, name,
			    _has_rtp_sink(cr_stream_cfg(h->streams[i])));
	if (dcc) {
		evbuffer_add_printf(b, " data-dc=\"");
		_esc(b, dcc->label);
		evbuffer_add_printf(b, "\"");
	}
	evbuffer_add_printf(b,
			    ">\n"
			    "<h2><a href=\"/play/%s%s\">%s</a> <small class=\"state\">%s</small> "
			    "<small class=\"out\"></small> <button class=\"sw\" type=\"button\">WebRTC/MJPEG</button></h2>\n"
			    "<div class=\"msg\"%s>",
			    name, tq, name,
			    cr_source_state_name(st.state), st.message[0] ? "" : " hidden");
	_esc(b, st.message);
	evbuffer_add_printf(b,
			    "</div>\n<img class=\"pic\" alt=\"\">\n"
			    "<div class=\"g2g\">glass-to-glass <b class=\"cur\">&ndash;</b> ms &middot; p50 "
			    "<b class=\"p50\">&ndash;</b> &middot; p95 <b class=\"p95\">&ndash;</b> &middot; unreadable "
			    "<b class=\"unr\">0</b> <small class=\"sync\"></small></div>\n"
			    "<div class=\"figs\"><div><span>fps</span> <b class=\"fps\">%.1f</b></div>"
			    "<div><span>source</span> <b class=\"fmt\"></b></div>"
			    "<div><span>bitrate</span> <b class=\"kbps\"></b></div>"
			    "<div><span>viewers</span> <b class=\"viewers\"></b></div>"
			    "<div><span>drops</span> <b class=\"drops\"></b></div>"
			    "<div><span>capture&rarr;encoded ms p50/p99</span> <b class=\"enc\"></b></div>"
			    "<div><span>capture&rarr;sent ms p50/p99</span> <b class=\"sent\"></b></div>"
			    "<div><span>other viewers' glass-to-glass</span> <b class=\"others\"></b></div></div>\n"
			    "<div class=\"plots\"><canvas class=\"plot pf\" width=\"300\" height=\"40\" title=\"fps\"></canvas>"
			    "<canvas class=\"plot pk\" width=\"300\" height=\"40\" title=\"kbit/s\"></canvas>"
			    "<canvas class=\"plot pg\" width=\"300\" height=\"40\" title=\"glass-to-glass p50\"></canvas></div>\n"
			    "<details><summary>camera controls</summary><div class=\"ctls\"></div></details>\n"
			    "<details><summary>URLs</summary><div class=\"urls\"></div></details>\n"
			    "<form class=\"dcp\" hidden><input class=\"dcm\" placeholder=\"message to the device\" "
			    "autocomplete=\"off\"> <button>send</button> <span class=\"dcs\"></span><pre class=\"dclog\"></pre>"
			    "</form>\n",
			    st.fps_measured);
	if (h->rtsp) { /* the RTSP server's URL of this stream (also in the URLs list) */
		char url[400];
		cr_rtsp_stream_url(h->rtsp, evhttp_find_header(evhttp_request_get_input_headers(req), "Host"), name, url,
				   sizeof(url));
		evbuffer_add_printf(b, "<p class=\"rtspurl\">RTSP (VLC, ffmpeg, NVRs): <code class=\"rtsp\">");
		_esc(b, url);
		evbuffer_add_printf(b, "</code></p>\n");
	}
	evbuffer_add_printf(b, "</section>\n");
}

void cr_http_page(struct cr_http_s *h, struct evhttp_request *req, int stream)
{
	struct evbuffer *b = evbuffer_new();
	if (!b) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	/* Links carry the page's ?token= on (encoded), so <img> MJPEG works too. */
	char token[1024], tq[3200] = "";
	cr_http_query_token(req, token, sizeof(token));
	char *etoken = token[0] ? evhttp_encode_uri(token) : NULL;
	if (etoken)
		snprintf(tq, sizeof(tq), "?token=%s", etoken);
	free(etoken);
	evbuffer_add_printf(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s%scamrelay</title>\n"
			       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<style>",
			    stream >= 0 ? cr_stream_name(h->streams[stream]) : "", stream >= 0 ? " - " : "");
	evbuffer_add(b, cr_page_css, CR_PAGE_CSS_LEN);
	evbuffer_add_printf(b, "</style></head>\n<body data-webrtc=\"%d\" data-rtsp=\"%s\" data-stream=\"%s\"%s>\n"
			       "<header><h1>camrelay</h1> <a href=\"/%s\">all streams</a> &middot; "
			       "<a href=\"/api/streams%s\">/api/streams</a> &middot; <a href=\"/metrics%s\">/metrics</a>%s%s%s</header>\n"
			       "<form id=\"login\" hidden>This server needs a token: <input type=\"password\" "
			       "autocomplete=\"current-password\"> <button>use it</button></form>\n<main>\n",
			    h->whep != NULL, h->rtsp ? cr_rtsp_base_url(h->rtsp) : "",
			    stream >= 0 ? cr_stream_name(h->streams[stream]) : "", stream >= 0 ? " class=\"one\"" : "",
			    tq, tq, tq, h->whep ? " &middot; <a href=\"/api/webrtc" : "", h->whep ? tq : "",
			    h->whep ? "\">/api/webrtc</a>" : "");
	int shown = 0;
	for (int i = 0; i < h->n_streams; i++) {
		unsigned rights = 0;
		if ((stream >= 0 && i != stream) || cr_stream_removed(h->streams[i]) ||
		    cr_http_rights(h->cfg, req, cr_stream_name(h->streams[i]), &rights) < 0 || !(rights & CR_RIGHT_VIEW))
			continue; /* streams a caller may not see are not listed */
		shown++;
		_card(h, req, b, i, tq);
	}
	if (shown == 0)
		evbuffer_add_printf(b, "<p>No streams%s.</p>\n", h->n_streams ? " you may see" : " configured");
	evbuffer_add_printf(b, "</main>\n<script>\n");
	evbuffer_add(b, cr_page_js, CR_PAGE_JS_LEN);
	evbuffer_add_printf(b, "</script></body></html>\n");
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
	evhttp_add_header(hdr, "Content-Type", "text/html; charset=utf-8");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

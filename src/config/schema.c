/* The camrelay config schema: walks the TOML tree and fills cr_config_s.
 *
 * Every key, as README.md documents it. Seed 001's schema is accepted
 * unchanged; camrelay's extensions are marked (ext).
 *
 *   [http]                                  (ext)
 *   listen = "127.0.0.1:8080"              host:port; IPv6 as "[::1]:8080"
 *
 *   [stream.<name>]                         name: A-Za-z0-9_- (used in URLs)
 *
 *   [[stream.<name>.sources]]               one or more; each is either
 *   url = "rtsp://cam/stream"              a URL source, or
 *   file = "/path/clip.mkv"                (ext) a video file (+ encoder), or
 *   loop = true                            (ext) file: start again at the end
 *   [stream.<name>.sources.capture]         a capture device (only one of the three)
 *   backend = "v4l2"                       a capture backend (required); each
 *                                          backend's table (src/source/) lists
 *                                          the pixel formats it delivers
 *   device = "/dev/video0"                 path, camera id or name; "" = first
 *   width = 640                            0 = device default
 *   height = 480                           0 = device default
 *   fps = 30                               0 = device default
 *   pixel_format = "yuyv"                  one its backend's table lists (names
 *                                          and aliases: core/format.c)
 *   prefer_dmabuf = false                  export DMA-BUFs when the driver can
 *   The test backend defaults to 1280x720 at 30 fps, yuyv.
 *
 *   [stream.<name>.sources.capture.controls]   (ext)
 *   brightness = 10                        name = integer, boolean or string;
 *   exposure_auto = true                   handed to the device as text
 *
 *   [stream.<name>.sources.capture.media]      (ext) media-controller pipeline (v4l2)
 *   strategy = "auto"                      auto, quality, speed, off
 *   [[stream.<name>.sources.capture.media.links]]     source = "Sensor A:0",
 *                                          sink = "Debayer A:0", enabled = true
 *   [[stream.<name>.sources.capture.media.pads]]      entity = "Scaler", pad = 0,
 *                                          format = "RGB888_1X24" (MEDIA_BUS_FMT_*
 *                                          name), width, height, crop = [x, y, w, h],
 *                                          compose = [x, y, w, h]
 *   [[stream.<name>.sources.capture.media.controls]]  entity = "Sensor A",
 *                                          name = "Test Pattern", value = 1 or "..."
 *
 *   [stream.<name>.sources.encoder]         optional
 *   backend = "v4l2-m2m"                   software or an encoder table's name
 *                                          (src/encode/) (required)
 *   codec = "h264"                         one of that backend's codecs;
 *                                          default from backend
 *   bitrate = 1_000_000                    bit/s, 0 = backend default
 *   min_bitrate = 150_000                  congestion control's floor (0 = 150 kbit/s;
 *                                          its ceiling is bitrate, 0 = 2 Mbit/s)
 *   bitrate_policy = "lowest"              lowest, median, fixed (net/whep_cc.c)
 *   bitrate_share = 75                     percent of viewers "lowest" follows, 1..100
 *   profile = "baseline"                   h264: baseline, constrained-baseline,
 *                                          main, high, or a profile-level-id
 *                                          of 6 hex digits such as "42001f"
 *   level = "3.1"                          h264 level, required with a profile
 *                                          name: 1, 1b, 1.1 ... 6.2
 *   gop = 60                               frames between keyframes, 0 = default
 *   prefer_dmabuf = false                  import DMA-BUFs when the device can
 *   preset = "veryfast"                    (ext) software encoders only: ultrafast,
 *                                          superfast, veryfast, faster, fast, medium,
 *                                          slow, slower, veryslow, placebo
 *   device = "/dev/video11"                (ext) v4l2-m2m: the encoder node (path, card
 *                                          or bus info); default: the first that encodes
 *   fallback = "software"                  (ext) v4l2-m2m: "software" encodes on the CPU
 *                                          when no device encodes the codec; "none"
 *
 *   [stream.<name>.sources.output]          optional
 *   payload_type = 96                      RTP dynamic payload type, 96..127
 *   clock_rate = 90000                     RTP clock, Hz (90000 for video)
 *
 *   [stream.<name>.mjpeg]                   (ext) the /stream/<name>.mjpeg view
 *   quality = 80                           JPEG quality 1..100
 *   fps = 0                                cap on frame rate, 0 = every frame
 *
 *   [[stream.<name>.sinks]]                 (ext) zero or more outputs
 *   type = "webcam"                        webcam, rtp, drm, overlay, whip, rtsp (required)
 *   device = "/dev/video10"                webcam/drm/overlay device
 *   address = "239.0.0.1:5004"             rtp only, and required there
 *   url = "rtsp://server:8554/path"        rtsp only, and required there (push: ANNOUNCE/RECORD)
 *   pixel_format = "yuyv"                  format to write; default from source
 *   width = 0                              0 = from source
 *   height = 0
 *   fps = 0
 *   (webcam only)
 *   keep_format = true                     the device keeps its format after camrelay
 *                                          exits: apps may open it before camrelay runs
 *   timeout_ms = 1500                      readers get a "not running" picture when no
 *                                          frame came for this long; 0 = off (0..100000)
 *   (whip only: WebRTC push, RFC 9725; src/sink/whip.c)
 *   url = "https://sfu.example/whip/cam1"  WHIP endpoint, http:// or https:// (required)
 *   token = "..."                          sent as Authorization: Bearer
 *   backoff_max_ms = 8000                  longest wait between attempts (250..600000);
 *                                          the wait starts at 250 ms and doubles
 *   ice_servers = [{ urls = ["stun:h:3478", "turn:h:3478?transport=udp"],
 *                    username = "u", credential = "p" }]   at most 4, 4 urls each
 *   (overlay only, seed 003; rectangles are [x, y, w, h])
 *   window = [40, 30, 320, 180]            overlay window on the framebuffer
 *   clips = [[60, 50, 40, 40], ...]        framebuffer areas the video leaves alone
 *   bitmap = [[0, 0, 160, 180], ...]       window areas where video shows (clip bitmap)
 *   chromakey = 0x00ff00                   0xRRGGBB (sets the chromakey flag)
 *   global_alpha = 128                     0..255 (sets the global_alpha flag)
 *   flags = ["chromakey"]                  primary, overlay, chromakey, src_chromakey,
 *                                          global_alpha, local_alpha, local_inv_alpha
 *   destructive = false                    capture overlay into framebuffer memory
 *   framebuffer = "/dev/fb0"               its /dev/fbN, or where the OSD is drawn
 *   osd = false                            output overlay: draw name, time, fps, viewers
 *   (drm only)
 *   connector = "HDMI-A-1"                 "" = first connected
 *   mode = "1920x1080"                     WxH or WxH@Hz; "" = preferred
 *   rect = [0, 0, 960, 540]                where the video goes; default full screen
 *
 *   [stream.<name>.audio]                  (ext) the stream's sound: see schema_audio.c
 *
 *   [stream.<name>.datachannel]             (ext) data channels <-> UDP: see schema_datachannel.c
 *   timecode = false                       (ext) in [stream.<name>]: draw the capture time
 *                                          as a timecode block (core/timecode.h)
 *   webrtc_codecs = ["h264"]              (ext) in [stream.<name>]: codecs WebRTC viewers
 *                                          may get (WHEP's table: cr_whep_codecs()); schema_auth.c
 *   [http] server_names, cors_origins, tls_cert, tls_key; [auth]; [limits]:
 *                                          see schema_auth.c
 *
 *   [webrtc]                                (ext) WHEP viewers
 *   port = 8555                            the one UDP port for all media, 1..65535
 *   candidates = ["192.168.1.10"]          ICE host candidate addresses (at most 8);
 *                                          default: every local interface
 *   timeout = 30                           seconds without ICE consent before a
 *                                          viewer is dropped, 1..3600
 *
 *   [rtsp]                                  (ext) the RTSP server (rtsp://HOST:8554/<stream>)
 *   enabled = true                         false: no RTSP server
 *   listen = "127.0.0.1:8554"              host:port
 *   rtp_port = 0                           even UDP port for RTP (RTCP: +1), 1024..65534;
 *                                          0 = a free pair
 *   session_timeout = 60                   seconds without a request or RTCP report
 *                                          before a UDP session ends, 5..3600
 *   max_clients = 256                      sessions in total, 1..10000 (503 beyond)
 *   max_clients_per_stream = 100           1..10000 (453 beyond)
 *   tcp_buffer_kb = 1024                   a TCP client's send buffer; full = dropped
 *   multicast_group = "239.255.42.1"       IPv4 multicast group of the first stream
 *                                          (the next ones +1, +2, ...); "" = no multicast
 *   multicast_port = 5004                  its port (RTCP +1)
 *   multicast_ttl = 4                      1..255
 *
 * The loaders: this file (root, [http], [rtsp], [webrtc], [stream.<name>]),
 * schema_source.c (sources) and schema_sink.c (sinks); they read keys through
 * schema_get.c's typed getters.
 *
 * Every error reads "file:line:col: key.path: problem (allowed: ...)"; the
 * position is the value's, the key's for unknown keys, and the table header's
 * for missing keys. Unknown keys are errors so that typos are not ignored.
 */
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/schema_get.h"
#include "config/schema_sections.h"
#include "config/toml.h"
#include "config/values.h"

/* A config is a few hundred bytes; a cap keeps a wrong path (a video file)
 * from being read into memory. */
#define _MAX_FILE_SIZE (1 << 20)

static bool _valid_stream_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-'))
			return false;
	return true;
}

static int _load_stream(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_stream_cfg_s *s)
{
	static const char *const keys[] = {"sources", "mjpeg", "sinks", "webrtc_codecs", "audio", "datachannel",
					   "timecode", NULL};
	static const char *const mjpeg_keys[] = {"quality", "fps", NULL};
	const struct cr_toml_s *sources = NULL, *sinks = NULL, *mjpeg = NULL, *audio = NULL;
	char sub[CR_CFG_PATH], item[300];
	int rc;

	s->mjpeg.quality = 80;
	if ((rc = cr_cfg_check_keys(c, t, path, keys)) < 0 ||
	    (rc = cr_cfg_get_table_array(c, t, path, "sources", CR_MAX_SOURCES, &sources)) < 0 ||
	    (rc = cr_cfg_get_table_array(c, t, path, "sinks", CR_MAX_SINKS, &sinks)) < 0 ||
	    (rc = cr_cfg_get_table(c, t, path, "mjpeg", &mjpeg)) < 0 ||
	    (rc = cr_cfg_get_table(c, t, path, "audio", &audio)) < 0 ||
	    (rc = cr_cfg_load_webrtc_codecs(c, t, path, s)) < 0 ||
	    (rc = cr_cfg_load_datachannel(c, t, path, &s->datachannel)) < 0 ||
	    (rc = cr_cfg_get_bool(c, t, path, "timecode", &s->timecode)) < 0)
		return rc;
	if (!sources || cr_toml_len(sources) == 0)
		return CR_CFG_FAIL(c, t, path, "a stream needs at least one source: add [[%s.sources]]", path);
	for (size_t i = 0; i < cr_toml_len(sources); i++)
		if ((rc = cr_cfg_load_source(c, cr_toml_at(sources, i),
					     cr_cfg_item(item, sizeof(item), path, "sources", i),
					     &s->sources[s->n_sources++])) < 0)
			return rc;
	/* sinks are read with the daemon's sink tables; the library skips them */
	for (size_t i = 0; cr_cfg_sinks_known() && i < cr_toml_len(sinks); i++) {
		cr_cfg_item(item, sizeof(item), path, "sinks", i);
		/* a block per configured sink */
		if (!(s->sinks[s->n_sinks] = cr_config_block(c->cfg, sizeof(struct cr_sink_cfg_s))))
			return CR_CFG_FAIL(c, cr_toml_at(sinks, i), item, "out of memory");
		if ((rc = cr_cfg_load_sink(c, cr_toml_at(sinks, i), item, s->sinks[s->n_sinks++], s)) < 0)
			return rc;
	}
	if (mjpeg) {
		cr_cfg_sub(sub, sizeof(sub), path, "mjpeg");
		if ((rc = cr_cfg_check_keys(c, mjpeg, sub, mjpeg_keys)) < 0 ||
		    (rc = cr_cfg_get_intv(c, mjpeg, sub, "quality", 1, 100, &s->mjpeg.quality)) < 0 ||
		    (rc = cr_cfg_get_intv(c, mjpeg, sub, "fps", 0, 1000, &s->mjpeg.fps)) < 0)
			return rc;
	}
	if (audio && (rc = cr_cfg_load_audio(c, audio, cr_cfg_sub(sub, sizeof(sub), path, "audio"), s)) < 0)
		return rc;
	return 0;
}

static int _load_webrtc(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, struct cr_webrtc_cfg_s *w)
{
	static const char *const keys[] = {"port", "candidates", "timeout", NULL};
	const struct cr_toml_s *cands = NULL;
	char path[CR_CFG_PATH], sub[64];
	int rc;

	if ((rc = cr_cfg_check_keys(c, t, "webrtc", keys)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "webrtc", "port", 1, 65535, &w->port)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "webrtc", "timeout", 1, 3600, &w->timeout)) < 0)
		return rc;
	if ((rc = cr_cfg_lookup(c, t, "webrtc", "candidates", CR_TOML_ARRAY, "an array of address strings", path,
				&cands)) <= 0)
		return rc;
	if (cr_toml_len(cands) > CR_MAX_CANDIDATES)
		return CR_CFG_FAIL(c, cr_toml_at(cands, CR_MAX_CANDIDATES), path, "too many entries (at most %d)",
				   CR_MAX_CANDIDATES);
	for (size_t i = 0; i < cr_toml_len(cands); i++) {
		const struct cr_toml_s *v = cr_toml_at(cands, i);
		cr_cfg_item(sub, sizeof(sub), "webrtc", "candidates", i);
		if (cr_toml_type(v) != CR_TOML_STRING)
			return cr_cfg_wrong_type(c, v, sub, "a string");
		const char *s = cr_toml_str(v, NULL), *problem = cr_cfg_ip_problem(s);
		if (problem)
			return CR_CFG_FAIL(c, v, sub, "invalid address \"%.64s\": %s", s, problem);
		snprintf(w->candidates[w->n_candidates++], sizeof(w->candidates[0]), "%s", s);
	}
	return 0;
}

static int _load_rtsp(struct cr_cfg_ctx_s *c, const struct cr_toml_s *t, struct cr_rtsp_cfg_s *r)
{
	static const char *const keys[] = {"enabled", "listen", "rtp_port", "session_timeout", "max_clients",
					   "max_clients_per_stream", "tcp_buffer_kb", "multicast_group",
					   "multicast_port", "multicast_ttl", NULL};
	const struct cr_toml_s *at = NULL;
	bool enabled = true;
	int rc;
	if ((rc = cr_cfg_check_keys(c, t, "rtsp", keys)) < 0 ||
	    (rc = cr_cfg_get_bool(c, t, "rtsp", "enabled", &enabled)) < 0 ||
	    (rc = cr_cfg_get_hostport(c, t, "rtsp", "listen", r->listen, sizeof(r->listen))) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "rtsp", "rtp_port", 1024, 65534, &r->rtp_port)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "rtsp", "session_timeout", 5, 3600, &r->session_timeout)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "rtsp", "max_clients", 1, 10000, &r->max_clients)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "rtsp", "max_clients_per_stream", 1, 10000, &r->max_clients_per_stream)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "rtsp", "tcp_buffer_kb", 64, 65536, &r->tcp_buffer_kb)) < 0 ||
	    (rc = cr_cfg_get_str(c, t, "rtsp", "multicast_group", r->multicast_group, sizeof(r->multicast_group),
				 &at)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "rtsp", "multicast_port", 1024, 65534, &r->multicast_port)) < 0 ||
	    (rc = cr_cfg_get_intv(c, t, "rtsp", "multicast_ttl", 1, 255, &r->multicast_ttl)) < 0)
		return rc;
	r->disabled = !enabled;
	if (r->rtp_port % 2)
		return CR_CFG_FAIL(c, cr_toml_get(t, "rtp_port"), "rtsp.rtp_port",
				   "%d is odd (RTP takes an even port, RTCP the next one)", r->rtp_port);
	struct in_addr a;
	if (at && (inet_pton(AF_INET, r->multicast_group, &a) != 1 || (ntohl(a.s_addr) >> 28) != 14))
		return CR_CFG_FAIL(c, at, "rtsp.multicast_group",
				   "\"%.64s\" is not an IPv4 multicast address (224.0.0.0 to 239.255.255.255, e.g. "
				   "239.255.42.1)", r->multicast_group);
	return 0;
}

static int _load_root(struct cr_cfg_ctx_s *c, const struct cr_toml_s *root, struct cr_config_s *cfg)
{
	static const char *const keys[] = {"http", "stream", "webrtc", "auth", "limits", "rtsp", NULL};
	static const char *const http_keys[] = {"listen", "server_names", "cors_origins", "tls_cert", "tls_key", NULL};
	const struct cr_toml_s *http = NULL, *streams = NULL, *webrtc = NULL, *auth = NULL, *limits = NULL, *rtsp = NULL;
	char path[256];
	int rc;

	if ((rc = cr_cfg_check_keys(c, root, "", keys)) < 0 ||
	    (rc = cr_cfg_get_table(c, root, "", "http", &http)) < 0 ||
	    (rc = cr_cfg_get_table(c, root, "", "stream", &streams)) < 0)
		return rc;
	if (http &&
	    ((rc = cr_cfg_check_keys(c, http, "http", http_keys)) < 0 ||
	     (rc = cr_cfg_get_hostport(c, http, "http", "listen", cfg->http.listen, sizeof(cfg->http.listen))) < 0 ||
	     (rc = cr_cfg_load_http_access(c, http, &cfg->http)) < 0))
		return rc;
	if ((rc = cr_cfg_get_table(c, root, "", "auth", &auth)) < 0 ||
	    (auth && (rc = cr_cfg_load_auth(c, auth, &cfg->auth)) < 0) ||
	    (rc = cr_cfg_get_table(c, root, "", "limits", &limits)) < 0 ||
	    (limits && (rc = cr_cfg_load_limits(c, limits, &cfg->limits)) < 0))
		return rc;
	if ((rc = cr_cfg_get_table(c, root, "", "webrtc", &webrtc)) < 0 ||
	    (webrtc && (rc = _load_webrtc(c, webrtc, &cfg->webrtc)) < 0))
		return rc;
	if ((rc = cr_cfg_get_table(c, root, "", "rtsp", &rtsp)) < 0 ||
	    (rtsp && (rc = _load_rtsp(c, rtsp, &cfg->rtsp)) < 0))
		return rc;
	if (!streams || cr_toml_len(streams) == 0)
		return cr_cfg_fail_at(c, 1, 1, "stream",
				      "no streams defined: add a [stream.<name>] table with [[stream.<name>.sources]]");
	if (cr_toml_len(streams) > CR_MAX_STREAMS)
		return CR_CFG_FAIL(c, cr_toml_at(streams, CR_MAX_STREAMS), "stream", "too many streams (at most %d)",
				   CR_MAX_STREAMS);
	for (size_t i = 0; i < cr_toml_len(streams); i++) {
		const struct cr_toml_s *t = cr_toml_at(streams, i);
		const char *name = cr_toml_key(t);
		struct cr_stream_cfg_s *s = cfg->streams[cfg->n_streams] = cr_config_block(cfg, sizeof(*s));
		if (!s)
			return cr_cfg_fail_at(c, cr_toml_key_line(t), cr_toml_key_col(t), "stream", "out of memory");
		cfg->n_streams++;
		snprintf(path, sizeof(path), "stream.%.200s", name);
		if (!_valid_stream_name(name) || strlen(name) >= sizeof(s->name))
			return cr_cfg_fail_at(c, cr_toml_key_line(t), cr_toml_key_col(t), path,
					"invalid stream name \"%.200s\" (allowed: 1..%zu of A-Z a-z 0-9 _ -; it appears in URLs)",
					name, sizeof(s->name) - 1);
		if (cr_toml_type(t) != CR_TOML_TABLE)
			return cr_cfg_wrong_type(c, t, path, "a table ([stream.<name>])");
		snprintf(s->name, sizeof(s->name), "%s", name);
		if ((rc = _load_stream(c, t, path, s)) < 0)
			return rc;
	}
	return 0;
}

/* --- entry points ----------------------------------------------------- */

static void _init(struct cr_config_s *cfg, const char *path)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->path, sizeof(cfg->path), "%s", path);
	snprintf(cfg->http.listen, sizeof(cfg->http.listen), "127.0.0.1:8080");
}

int cr_config_parse(const char *name, const char *text, size_t len, struct cr_config_s *cfg, char *err,
		    size_t errlen)
{
	struct cr_cfg_ctx_s c = {.file = name, .err = err, .errlen = errlen, .cfg = cfg};
	struct cr_toml_s *root;
	char msg[512];
	int rc;

	if (err && errlen)
		err[0] = '\0';
	_init(cfg, name);
	if ((rc = cr_toml_parse(text, len, &root, msg, sizeof(msg))) < 0) {
		if (err && errlen)
			snprintf(err, errlen, "%s:%s", name, msg);
		return rc;
	}
	rc = _load_root(&c, root, cfg);
	cr_toml_free(root);
	if (rc < 0) /* nothing half-loaded stays behind */
		cr_config_free(cfg);
	return rc;
}

int cr_config_load(const char *path, struct cr_config_s *cfg, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	int rc, fd = open(path, O_RDONLY | O_CLOEXEC);
	_init(cfg, path); /* a config that could not be read is empty, not garbage */

	if (fd < 0 || fstat(fd, &st) < 0) {
		rc = -errno;
		goto error;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > _MAX_FILE_SIZE) {
		rc = S_ISREG(st.st_mode) ? -EFBIG : -EINVAL;
		if (err && errlen)
			snprintf(err, errlen, "%s: not a config file (%s)", path,
				 S_ISREG(st.st_mode) ? "larger than 1 MiB" : "not a regular file");
		goto out;
	}
	if (!(text = malloc((size_t)st.st_size + 1))) {
		rc = -ENOMEM;
		goto error;
	}
	size_t got = 0;
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, text + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = -errno;
			goto error;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	rc = cr_config_parse(path, text, got, cfg, err, errlen);
	goto out;
error:
	if (err && errlen)
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(-rc));
out:
	free(text);
	if (fd >= 0)
		close(fd);
	return rc;
}

struct cr_config_block_s {
	struct cr_config_block_s *next;
	max_align_t data[]; /* the caller's struct */
};

void *cr_config_block(struct cr_config_s *cfg, size_t size)
{
	struct cr_config_block_s *b = calloc(1, sizeof(*b) + size);
	if (!b)
		return NULL;
	b->next = cfg->blocks;
	cfg->blocks = b;
	return b->data;
}

void cr_config_free(struct cr_config_s *cfg)
{
	for (struct cr_config_block_s *b = cfg->blocks, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	_init(cfg, "");
}

void cr_config_default(struct cr_config_s *cfg)
{
	_init(cfg, "");
	struct cr_stream_cfg_s *s = cfg->streams[0] = cr_config_block(cfg, sizeof(*s));
	if (!s)
		return; /* out of memory: no streams */
	cfg->n_streams = 1;
	snprintf(s->name, sizeof(s->name), "test");
	s->mjpeg.quality = 80;
	s->n_sources = 1;
	struct cr_source_cfg_s *src = &s->sources[0];
	snprintf(src->capture.backend, sizeof(src->capture.backend), "test");
	src->capture.width = 1280;
	src->capture.height = 720;
	src->capture.fps = 30;
	src->capture.pixel_format = CR_PIXFMT_YUYV;
	src->output.payload_type = 96;
	src->output.clock_rate = 90000;
}

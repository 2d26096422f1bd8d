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
 *   [stream.<name>.sources.capture]         a capture device (never both)
 *   backend = "v4l2"                       libcamera, v4l2, test, gphoto2 (required)
 *   device = "/dev/video0"                 path, camera id or name; "" = first
 *   width = 640                            0 = device default
 *   height = 480                           0 = device default
 *   fps = 30                               0 = device default
 *   pixel_format = "yuyv"                  yuyv/yuyv422, uyvy, yvyu, nv12,
 *                                          yuv420/yuv420p/i420, mjpeg,
 *                                          rgb888/rgb/rgb24, bgr24, grey/gray
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
 *   backend = "v4l2-m2m"                   v4l2-m2m, rdk, software, x264, x265,
 *                                          vpx, aom, jpeg (required)
 *   codec = "h264"                         h264, h265/hevc, av1, vp8, vp9,
 *                                          mjpeg, fwht; default from backend
 *   bitrate = 1_000_000                    bit/s, 0 = backend default
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
 *   type = "webcam"                        webcam, rtp, drm, overlay (required)
 *   device = "/dev/video10"                webcam/drm/overlay device
 *   address = "239.0.0.1:5004"             rtp only, and required there
 *   pixel_format = "yuyv"                  format to write; default from source
 *   width = 0                              0 = from source
 *   height = 0
 *   fps = 0
 *   (webcam only)
 *   keep_format = true                     the device keeps its format after camrelay
 *                                          exits: apps may open it before camrelay runs
 *   timeout_ms = 1500                      readers get a "not running" picture when no
 *                                          frame came for this long; 0 = off (0..100000)
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
 *   [webrtc]                                (ext) WHEP viewers
 *   port = 8555                            the one UDP port for all media, 1..65535
 *   candidates = ["192.168.1.10"]          ICE host candidate addresses (at most 8);
 *                                          default: every local interface
 *   timeout = 30                           seconds without ICE consent before a
 *                                          viewer is dropped, 1..3600
 *
 * Every error reads "file:line:col: key.path: problem (allowed: ...)"; the
 * position is the value's, the key's for unknown keys, and the table header's
 * for missing keys. Unknown keys are errors so that typos are not ignored.
 */
#include "core/config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/videodev2.h>

#include "config/toml.h"
#include "media/mbus_names.h"
#include "config/values.h"

/* A config is a few hundred bytes; a cap keeps a wrong path (a video file)
 * from being read into memory. */
#define _MAX_FILE_SIZE (1 << 20)

struct _ctx_s {
	const char *file;
	char *err;
	size_t errlen;
};

static int _fail_at(struct _ctx_s *c, int line, int col, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int _fail_at(struct _ctx_s *c, int line, int col, const char *path, const char *fmt, ...)
{
	if (!c->err || !c->errlen)
		return -EINVAL;
	int n = snprintf(c->err, c->errlen, "%s:%d:%d: %s: ", c->file, line, col, path);
	if (n >= 0 && (size_t)n < c->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	/* Values are quoted from the file; keep their control characters (an
	 * escaped ESC, say) away from the user's terminal. */
	for (char *p = c->err; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = '?';
	return -EINVAL;
}

#define _FAIL(c, v, path, ...) _fail_at(c, cr_toml_line(v), cr_toml_col(v), path, __VA_ARGS__)

static const char *_join(const char *const *names, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = '\0';
	for (size_t i = 0; names[i] && o < size; i++)
		o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? ", " : "", names[i]);
	return buf;
}

static int _index_of(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* path + "." + key, cut to size: paths only ever appear in messages. (Not
 * snprintf: gcc's -Wformat-truncation cannot see that cutting is meant.) */
static const char *_sub(char *buf, size_t size, const char *path, const char *key)
{
	size_t o = 0;
	const char *parts[3] = {path, path[0] ? "." : "", key};
	for (int i = 0; i < 3; i++)
		for (const char *p = parts[i]; *p && o + 1 < size; p++)
			buf[o++] = *p;
	buf[o] = '\0';
	return buf;
}

static const char *_article(enum cr_toml_type_e t)
{
	return t == CR_TOML_ARRAY || t == CR_TOML_INTEGER ? "an" : "a";
}

static int _wrong_type(struct _ctx_s *c, const struct cr_toml_s *v, const char *path, const char *want)
{
	enum cr_toml_type_e t = cr_toml_type(v);
	return _FAIL(c, v, path, "expected %s, got %s %s", want, _article(t), cr_toml_type_name(t));
}

/* Fails on the first key of table that is not in allowed. */
static int _check_keys(struct _ctx_s *c, const struct cr_toml_s *table, const char *path,
		       const char *const *allowed)
{
	for (size_t i = 0; i < cr_toml_len(table); i++) {
		const struct cr_toml_s *v = cr_toml_at(table, i);
		if (_index_of(allowed, cr_toml_key(v)) >= 0)
			continue;
		char sub[256], list[512];
		return _fail_at(c, cr_toml_key_line(v), cr_toml_key_col(v), _sub(sub, sizeof(sub), path, cr_toml_key(v)),
				"unknown key (allowed: %s)", _join(allowed, list, sizeof(list)));
	}
	return 0;
}

static int _missing(struct _ctx_s *c, const struct cr_toml_s *table, const char *path, const char *key,
		    const char *hint)
{
	return _FAIL(c, table, path, "missing required key \"%s\"%s", key, hint ? hint : "");
}

/* The typed getters return 1 when the key is present and valid, 0 when it is
 * absent (out untouched), or a negative errno after writing the message. */

static int _get_table(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		      const struct cr_toml_s **out)
{
	const struct cr_toml_s *v = cr_toml_get(t, key);
	char sub[256];
	if (!v)
		return 0;
	if (cr_toml_type(v) != CR_TOML_TABLE)
		return _wrong_type(c, v, _sub(sub, sizeof(sub), path, key), "a table");
	*out = v;
	return 1;
}

static int _get_str(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, char *out,
		    size_t size, const struct cr_toml_s **at)
{
	const struct cr_toml_s *v = cr_toml_get(t, key);
	char sub[256];
	size_t len;
	if (!v)
		return 0;
	_sub(sub, sizeof(sub), path, key);
	if (cr_toml_type(v) != CR_TOML_STRING)
		return _wrong_type(c, v, sub, "a string");
	const char *s = cr_toml_str(v, &len);
	if (len != strlen(s))
		return _FAIL(c, v, sub, "NUL characters are not allowed");
	if (len >= size)
		return _FAIL(c, v, sub, "too long (%zu bytes, at most %zu)", len, size - 1);
	memcpy(out, s, len + 1);
	if (at)
		*at = v;
	return 1;
}

static int _get_int(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, int64_t min,
		    int64_t max, int64_t *out)
{
	const struct cr_toml_s *v = cr_toml_get(t, key);
	char sub[256];
	if (!v)
		return 0;
	_sub(sub, sizeof(sub), path, key);
	if (cr_toml_type(v) != CR_TOML_INTEGER)
		return _wrong_type(c, v, sub, "an integer");
	int64_t i = cr_toml_int(v);
	if (i < min || i > max)
		return _FAIL(c, v, sub, "out of range: %" PRId64 " (allowed: %" PRId64 "..%" PRId64 ")", i, min, max);
	*out = i;
	return 1;
}

static int _get_intv(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, int min,
		     int max, int *out)
{
	int64_t i;
	int rc = _get_int(c, t, path, key, min, max, &i);
	if (rc > 0)
		*out = (int)i;
	return rc;
}

static int _get_bool(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, bool *out)
{
	const struct cr_toml_s *v = cr_toml_get(t, key);
	char sub[256];
	if (!v)
		return 0;
	if (cr_toml_type(v) != CR_TOML_BOOL)
		return _wrong_type(c, v, _sub(sub, sizeof(sub), path, key), "a boolean (true or false)");
	*out = cr_toml_bool(v);
	return 1;
}

/* A string value that must name something; returns it (NULL when absent or
 * after an error, told apart by rc). Names are checked before any copy, so a
 * very long value reads as unknown rather than as too long. */
static const char *_get_name(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
			     const struct cr_toml_s **at, int *rc)
{
	const struct cr_toml_s *v = cr_toml_get(t, key);
	char sub[256];
	*rc = 0;
	if (!v)
		return NULL;
	if (cr_toml_type(v) != CR_TOML_STRING) {
		*rc = _wrong_type(c, v, _sub(sub, sizeof(sub), path, key), "a string");
		return NULL;
	}
	*at = v;
	*rc = 1;
	return cr_toml_str(v, NULL);
}

/* A string that must be one of names; copied to out. */
static int _get_choice(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		       const char *what, const char *const *names, char *out, size_t size)
{
	const struct cr_toml_s *v = NULL;
	char sub[256], list[512];
	int rc;
	const char *s = _get_name(c, t, path, key, &v, &rc);
	if (!s)
		return rc;
	if (_index_of(names, s) < 0 || strlen(s) >= size)
		return _FAIL(c, v, _sub(sub, sizeof(sub), path, key), "unknown %s \"%.64s\" (allowed: %s)", what, s,
			     _join(names, list, sizeof(list)));
	snprintf(out, size, "%s", s);
	return 1;
}

static int _get_pixfmt(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, enum cr_pixfmt_e *out)
{
	const struct cr_toml_s *v = NULL;
	char sub[256];
	int rc;
	const char *s = _get_name(c, t, path, "pixel_format", &v, &rc);
	if (!s)
		return rc;
	if ((*out = cr_pixfmt_from_name(s)) == CR_PIXFMT_NONE)
		return _FAIL(c, v, _sub(sub, sizeof(sub), path, "pixel_format"),
			     "unknown pixel format \"%.64s\" (allowed: %s)", s, cr_pixfmt_allowed());
	return 1;
}

static int _get_hostport(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
			 char *out, size_t size)
{
	const struct cr_toml_s *v;
	char sub[256];
	int rc = _get_str(c, t, path, key, out, size, &v);
	if (rc <= 0)
		return rc;
	const char *problem = cr_cfg_hostport_problem(out);
	if (problem)
		return _FAIL(c, v, _sub(sub, sizeof(sub), path, key),
			     "invalid address \"%s\": %s (expected host:port, e.g. 127.0.0.1:8080)", out, problem);
	return 1;
}

/* Fills profile_idc, constraint_flags and level_idc from profile/level. */
static int _h264_profile(struct _ctx_s *c, const struct cr_toml_s *enc, const char *path,
			 struct cr_encoder_cfg_s *e)
{
	const struct cr_toml_s *pv = NULL, *lv = NULL;
	char psub[256], lsub[256], list[256], why[128];
	struct cr_h264_id_s id;
	int rc, level_idc = -1;
	const char *profile = _get_name(c, enc, path, "profile", &pv, &rc);
	if (rc < 0)
		return rc;
	const char *lname = _get_name(c, enc, path, "level", &lv, &rc);
	if (rc < 0)
		return rc;
	_sub(psub, sizeof(psub), path, "profile");
	_sub(lsub, sizeof(lsub), path, "level");

	if ((pv || lv) && e->codec != CR_CODEC_H264)
		return _FAIL(c, pv ? pv : lv, pv ? psub : lsub, "profile and level apply to h264 only (codec is %s)",
			     cr_codec_name(e->codec));
	if (lv) {
		if ((level_idc = cr_h264_level_idc(lname)) < 0)
			return _FAIL(c, lv, lsub, "unknown H.264 level \"%.64s\" (allowed: %s)", lname,
				     _join(cr_h264_level_names, list, sizeof(list)));
		if (!pv)
			return _FAIL(c, lv, lsub, "a level needs a profile (allowed: %s, or a profile-level-id like 42001f)",
				     _join(cr_h264_profile_names, list, sizeof(list)));
		snprintf(e->level, sizeof(e->level), "%s", lname);
	}
	if (!pv)
		return 0;
	if (_index_of(cr_h264_profile_names, profile) >= 0) {
		if (!lv)
			return _FAIL(c, enc, path, "missing required key \"level\" (profile \"%s\" needs a level, e.g. \"3.1\")",
				     profile);
		cr_h264_id_from_name(profile, level_idc, &id);
	} else {
		const char *problem = cr_h264_id_from_hex(profile, &id, why, sizeof(why));
		if (problem == why) /* hex, but not a profile or level H.264 has */
			return _FAIL(c, pv, psub, "profile-level-id \"%s\": %s", profile, problem);
		if (problem)
			return _FAIL(c, pv, psub,
				     "unknown H.264 profile \"%.64s\" (allowed: %s, or a profile-level-id of 6 hex digits like 42001f)",
				     profile, _join(cr_h264_profile_names, list, sizeof(list)));
		/* both given: they must agree (1b may be spelled 11 + constraint_set3) */
		if (lv && level_idc != id.level_idc && !(level_idc == 9 && id.level_idc == 11 && (id.constraint_flags & 0x10)))
			return _FAIL(c, lv, lsub, "level \"%s\" contradicts profile-level-id \"%s\" (level_idc %u); drop one",
				     lname, profile, id.level_idc);
	}
	snprintf(e->profile, sizeof(e->profile), "%s", profile);
	e->profile_idc = id.profile_idc;
	e->constraint_flags = id.constraint_flags;
	e->level_idc = id.level_idc;
	return 0;
}

/* --- blocks ----------------------------------------------------------- */

static const char *const _capture_backends[] = {"libcamera", "v4l2", "test", "gphoto2", NULL};
static const char *const _encoder_backends[] = {"v4l2-m2m", "rdk", "software", "x264", "x265", "vpx", "aom", "jpeg", NULL};
static const char *const _sink_types[] = {"webcam", "rtp", "drm", "overlay", NULL};

/* Library encoders do one codec family; hardware ones depend on the device. */
static const struct {
	const char *backend;
	enum cr_codec_e codecs[3];
	const char *allowed;
} _encoder_codecs[] = {
	{"x264", {CR_CODEC_H264}, "h264"},
	{"x265", {CR_CODEC_H265}, "h265, hevc"},
	{"vpx", {CR_CODEC_VP8, CR_CODEC_VP9}, "vp8, vp9"},
	{"aom", {CR_CODEC_AV1}, "av1"},
	{"jpeg", {CR_CODEC_MJPEG}, "mjpeg"},
	{"rdk", {CR_CODEC_H264, CR_CODEC_H265, CR_CODEC_MJPEG}, "h264, h265, hevc, mjpeg"},
};

static int _load_controls(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_capture_cfg_s *cap)
{
	char sub[256];
	for (size_t i = 0; i < cr_toml_len(t); i++) {
		const struct cr_toml_s *v = cr_toml_at(t, i);
		const char *name = cr_toml_key(v);
		_sub(sub, sizeof(sub), path, name);
		if (cap->n_controls >= CR_MAX_CONTROLS)
			return _fail_at(c, cr_toml_key_line(v), cr_toml_key_col(v), sub, "too many controls (at most %d)",
					CR_MAX_CONTROLS);
		struct cr_control_cfg_s *ctl = &cap->controls[cap->n_controls];
		if (strlen(name) >= sizeof(ctl->name) || !name[0])
			return _fail_at(c, cr_toml_key_line(v), cr_toml_key_col(v), sub,
					"control name must be 1..%zu bytes", sizeof(ctl->name) - 1);
		size_t len;
		switch (cr_toml_type(v)) {
		case CR_TOML_INTEGER:
			snprintf(ctl->value, sizeof(ctl->value), "%" PRId64, cr_toml_int(v));
			break;
		case CR_TOML_BOOL:
			snprintf(ctl->value, sizeof(ctl->value), "%s", cr_toml_bool(v) ? "true" : "false");
			break;
		case CR_TOML_STRING:
			cr_toml_str(v, &len);
			if (len >= sizeof(ctl->value) || len != strlen(cr_toml_str(v, NULL)))
				return _FAIL(c, v, sub, "control value must be under %zu bytes, without NUL",
					     sizeof(ctl->value));
			memcpy(ctl->value, cr_toml_str(v, NULL), len + 1);
			break;
		default:
			return _wrong_type(c, v, sub, "an integer, boolean or string");
		}
		snprintf(ctl->name, sizeof(ctl->name), "%s", name);
		cap->n_controls++;
	}
	return 0;
}

/* [stream.X.sources.capture.media] (ext): the media-controller pipeline
 * feeding a V4L2 capture node (src/media/media.h).
 *   strategy = "auto"                        auto, quality, speed, off
 *   [[...media.links]]   source = "Sensor A:0", sink = "Debayer A:0", enabled = true
 *   [[...media.pads]]    entity = "Scaler", pad = 0, format = "RGB888_1X24",
 *                        width = 640, height = 480, crop = [x, y, w, h], compose = [x, y, w, h]
 *   [[...media.controls]] entity = "Sensor A", name = "test_pattern", value = 1 */
static const char *const _media_strategies[] = {"auto", "quality", "speed", "off", NULL};
static int _get_table_array(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
			    size_t max, const struct cr_toml_s **out);

/* "Entity name:pad" */
static int _media_pad_ref(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, char *name,
			  size_t size, int *pad)
{
	const struct cr_toml_s *v = NULL;
	char sub[256];
	int rc;
	const char *s = _get_name(c, t, path, key, &v, &rc);
	if (!s)
		return rc ? rc : _missing(c, t, path, key, " (\"entity name:pad number\", e.g. \"Sensor A:0\")");
	_sub(sub, sizeof(sub), path, key);
	const char *colon = strrchr(s, ':');
	char *end;
	long n = colon ? strtol(colon + 1, &end, 10) : -1;
	if (!colon || colon == s || !colon[1] || *end || n < 0 || n > 255)
		return _FAIL(c, v, sub, "expected \"entity name:pad number\" such as \"Sensor A:0\", got \"%.64s\"", s);
	if ((size_t)(colon - s) >= size)
		return _FAIL(c, v, sub, "entity name too long (at most %zu bytes)", size - 1);
	snprintf(name, size, "%.*s", (int)(colon - s), s);
	*pad = (int)n;
	return 1;
}

/* [x, y, w, h] */
static int _media_rect(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, int out[4],
		       bool *has)
{
	const struct cr_toml_s *v = cr_toml_get(t, key);
	char sub[256];
	if (!v)
		return 0;
	_sub(sub, sizeof(sub), path, key);
	if (cr_toml_type(v) != CR_TOML_ARRAY || cr_toml_len(v) != 4)
		return _FAIL(c, v, sub, "expected [x, y, width, height] (4 integers)");
	for (size_t i = 0; i < 4; i++) {
		const struct cr_toml_s *e = cr_toml_at(v, i);
		if (cr_toml_type(e) != CR_TOML_INTEGER)
			return _wrong_type(c, e, sub, "an integer in [x, y, width, height]");
		int64_t x = cr_toml_int(e);
		if (x < (i < 2 ? 0 : 1) || x > 65535)
			return _FAIL(c, e, sub, "out of range: %" PRId64 " (allowed: %d..65535 for %s)", x, i < 2 ? 0 : 1,
				     (const char *[]){"x", "y", "width", "height"}[i]);
		out[i] = (int)x;
	}
	*has = true;
	return 1;
}

static int _load_media_link(struct _ctx_s *c, const struct cr_toml_s *t, const char *path,
			    struct cr_media_link_cfg_s *l)
{
	static const char *const keys[] = {"source", "sink", "enabled", NULL};
	int rc;
	l->enabled = true;
	l->line = cr_toml_line(t);
	if ((rc = _check_keys(c, t, path, keys)) < 0 ||
	    (rc = _media_pad_ref(c, t, path, "source", l->source, sizeof(l->source), &l->source_pad)) < 0 ||
	    (rc = _media_pad_ref(c, t, path, "sink", l->sink, sizeof(l->sink), &l->sink_pad)) < 0 ||
	    (rc = _get_bool(c, t, path, "enabled", &l->enabled)) < 0)
		return rc;
	return 0;
}

static int _load_media_pad(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_media_pad_cfg_s *p)
{
	static const char *const keys[] = {"entity", "pad", "format", "width", "height", "crop", "compose", NULL};
	const struct cr_toml_s *v = NULL;
	char sub[256];
	int rc;
	p->line = cr_toml_line(t);
	if ((rc = _check_keys(c, t, path, keys)) < 0 ||
	    (rc = _get_str(c, t, path, "entity", p->entity, sizeof(p->entity), NULL)) < 0)
		return rc;
	if (rc == 0)
		return _missing(c, t, path, "entity", " (an entity name as `camrelay media` shows it)");
	if ((rc = _get_intv(c, t, path, "pad", 0, 255, &p->pad)) < 0)
		return rc;
	if (rc == 0)
		return _missing(c, t, path, "pad", " (the pad number)");
	const char *fmt = _get_name(c, t, path, "format", &v, &rc);
	if (rc < 0)
		return rc;
	if (fmt && !(p->code = cr_mbus_code_of_name(fmt)))
		return _FAIL(c, v, _sub(sub, sizeof(sub), path, "format"),
			     "unknown media bus format \"%.64s\" (allowed: a MEDIA_BUS_FMT_* name without the prefix, "
			     "such as RGB888_1X24, SRGGB8_1X8, YUYV8_2X8, UYVY8_1X16)",
			     fmt);
	if ((rc = _get_intv(c, t, path, "width", 1, 65535, &p->width)) < 0 ||
	    (rc = _get_intv(c, t, path, "height", 1, 65535, &p->height)) < 0 ||
	    (rc = _media_rect(c, t, path, "crop", p->crop, &p->has_crop)) < 0 ||
	    (rc = _media_rect(c, t, path, "compose", p->compose, &p->has_compose)) < 0)
		return rc;
	return 0;
}

static int _load_media_control(struct _ctx_s *c, const struct cr_toml_s *t, const char *path,
			       struct cr_media_control_cfg_s *ctl)
{
	static const char *const keys[] = {"entity", "name", "value", NULL};
	const struct cr_toml_s *v = cr_toml_get(t, "value");
	char sub[256];
	int rc;
	ctl->line = cr_toml_line(t);
	if ((rc = _check_keys(c, t, path, keys)) < 0 ||
	    (rc = _get_str(c, t, path, "entity", ctl->entity, sizeof(ctl->entity), NULL)) < 0)
		return rc;
	if (rc == 0)
		return _missing(c, t, path, "entity", " (the sub-device's entity name)");
	if ((rc = _get_str(c, t, path, "name", ctl->name, sizeof(ctl->name), NULL)) < 0)
		return rc;
	if (rc == 0)
		return _missing(c, t, path, "name", " (the control name, as v4l2-ctl -d /dev/v4l-subdevN -L shows it)");
	if (!v)
		return _missing(c, t, path, "value", "");
	_sub(sub, sizeof(sub), path, "value");
	switch (cr_toml_type(v)) {
	case CR_TOML_INTEGER:
		snprintf(ctl->value, sizeof(ctl->value), "%" PRId64, cr_toml_int(v));
		break;
	case CR_TOML_BOOL:
		snprintf(ctl->value, sizeof(ctl->value), "%s", cr_toml_bool(v) ? "true" : "false");
		break;
	case CR_TOML_STRING:
		if ((rc = _get_str(c, t, path, "value", ctl->value, sizeof(ctl->value), NULL)) < 0)
			return rc;
		break;
	default:
		return _wrong_type(c, v, sub, "an integer, boolean or string (a menu item)");
	}
	return 0;
}

static int _load_media(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_media_cfg_s *m)
{
	static const char *const keys[] = {"strategy", "links", "pads", "controls", NULL};
	const struct cr_toml_s *links = NULL, *pads = NULL, *ctls = NULL;
	char sub[256], item[300];
	int rc;
	if ((rc = _check_keys(c, t, path, keys)) < 0 ||
	    (rc = _get_choice(c, t, path, "strategy", "media pipeline strategy", _media_strategies, m->strategy,
			      sizeof(m->strategy))) < 0 ||
	    (rc = _get_table_array(c, t, path, "links", CR_MAX_MEDIA_LINKS, &links)) < 0 ||
	    (rc = _get_table_array(c, t, path, "pads", CR_MAX_MEDIA_PADS, &pads)) < 0 ||
	    (rc = _get_table_array(c, t, path, "controls", CR_MAX_MEDIA_CONTROLS, &ctls)) < 0)
		return rc;
	_sub(sub, sizeof(sub), path, "links");
	for (size_t i = 0; links && i < cr_toml_len(links); i++) {
		snprintf(item, sizeof(item), "%s[%zu]", sub, i);
		if ((rc = _load_media_link(c, cr_toml_at(links, i), item, &m->links[m->n_links++])) < 0)
			return rc;
	}
	_sub(sub, sizeof(sub), path, "pads");
	for (size_t i = 0; pads && i < cr_toml_len(pads); i++) {
		snprintf(item, sizeof(item), "%s[%zu]", sub, i);
		if ((rc = _load_media_pad(c, cr_toml_at(pads, i), item, &m->pads[m->n_pads++])) < 0)
			return rc;
	}
	_sub(sub, sizeof(sub), path, "controls");
	for (size_t i = 0; ctls && i < cr_toml_len(ctls); i++) {
		snprintf(item, sizeof(item), "%s[%zu]", sub, i);
		if ((rc = _load_media_control(c, cr_toml_at(ctls, i), item, &m->controls[m->n_controls++])) < 0)
			return rc;
	}
	return 0;
}

static int _load_capture(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_capture_cfg_s *cap)
{
	static const char *const keys[] = {"backend", "device", "width", "height", "fps", "pixel_format",
					   "prefer_dmabuf", "controls", "media", NULL};
	const struct cr_toml_s *controls = NULL, *media = NULL;
	char sub[256];
	int rc;

	if ((rc = _check_keys(c, t, path, keys)) < 0)
		return rc;
	if ((rc = _get_choice(c, t, path, "backend", "capture backend", _capture_backends, cap->backend,
			      sizeof(cap->backend))) < 0)
		return rc;
	if (rc == 0)
		return _missing(c, t, path, "backend", "");
	if ((rc = _get_str(c, t, path, "device", cap->device, sizeof(cap->device), NULL)) < 0 ||
	    (rc = _get_intv(c, t, path, "width", 0, 16384, &cap->width)) < 0 ||
	    (rc = _get_intv(c, t, path, "height", 0, 16384, &cap->height)) < 0 ||
	    (rc = _get_intv(c, t, path, "fps", 0, 1000, &cap->fps)) < 0 ||
	    (rc = _get_pixfmt(c, t, path, &cap->pixel_format)) < 0 ||
	    (rc = _get_bool(c, t, path, "prefer_dmabuf", &cap->prefer_dmabuf)) < 0 ||
	    (rc = _get_table(c, t, path, "controls", &controls)) < 0)
		return rc;
	if (controls && (rc = _load_controls(c, controls, _sub(sub, sizeof(sub), path, "controls"), cap)) < 0)
		return rc;
	if ((rc = _get_table(c, t, path, "media", &media)) < 0 ||
	    (media && (rc = _load_media(c, media, _sub(sub, sizeof(sub), path, "media"), &cap->media)) < 0))
		return rc;
	if (strcmp(cap->backend, "test") == 0) {
		/* The test pattern has no device to ask for defaults. */
		if (!cap->width)
			cap->width = 1280;
		if (!cap->height)
			cap->height = 720;
		if (!cap->fps)
			cap->fps = 30;
		if (!cap->pixel_format)
			cap->pixel_format = CR_PIXFMT_YUYV;
	}
	return 0;
}

/* x264's preset names; every software backend maps them to its own speed. */
static const char *const _presets[] = {"ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
				       "slow", "slower", "veryslow", "placebo", NULL};
static const char *const _preset_backends[] = {"software", "x264", "x265", "vpx", "aom", NULL};

static int _load_encoder(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_encoder_cfg_s *e)
{
	static const char *const keys[] = {"backend", "codec", "bitrate", "profile", "level", "gop", "prefer_dmabuf",
					   "preset", "device", "fallback", NULL};
	static const char *const fallbacks[] = {"none", "software", NULL};
	const struct cr_toml_s *cv = NULL;
	char sub[256];
	int rc;

	e->present = true;
	if ((rc = _check_keys(c, t, path, keys)) < 0)
		return rc;
	if ((rc = _get_choice(c, t, path, "backend", "encoder backend", _encoder_backends, e->backend,
			      sizeof(e->backend))) < 0)
		return rc;
	if (rc == 0)
		return _missing(c, t, path, "backend", "");
	e->line = cr_toml_key_line(cr_toml_get(t, "backend"));
	const char *codec = _get_name(c, t, path, "codec", &cv, &rc);
	_sub(sub, sizeof(sub), path, "codec");
	if (rc < 0)
		return rc;
	if (codec) {
		if ((e->codec = cr_codec_from_name(codec)) == CR_CODEC_NONE)
			return _FAIL(c, cv, sub, "unknown codec \"%.64s\" (allowed: %s)", codec, cr_codec_allowed());
	} else {
		e->codec = strcmp(e->backend, "jpeg") == 0 ? CR_CODEC_MJPEG :
			   strcmp(e->backend, "x265") == 0 ? CR_CODEC_H265 :
			   strcmp(e->backend, "vpx") == 0  ? CR_CODEC_VP8 :
			   strcmp(e->backend, "aom") == 0  ? CR_CODEC_AV1 :
							     CR_CODEC_H264;
	}
	for (size_t i = 0; i < sizeof(_encoder_codecs) / sizeof(_encoder_codecs[0]); i++) {
		if (strcmp(_encoder_codecs[i].backend, e->backend) != 0)
			continue;
		bool ok = false;
		for (size_t k = 0; k < 3; k++)
			ok |= _encoder_codecs[i].codecs[k] == e->codec;
		if (!ok)
			return _FAIL(c, cv, sub, "encoder backend \"%s\" cannot encode %s (allowed: %s)", e->backend,
				     cr_codec_name(e->codec), _encoder_codecs[i].allowed);
	}
	if ((rc = _get_int(c, t, path, "bitrate", 0, 1000000000, &e->bitrate)) < 0 ||
	    (rc = _get_intv(c, t, path, "gop", 0, 1000000, &e->gop)) < 0 ||
	    (rc = _get_bool(c, t, path, "prefer_dmabuf", &e->prefer_dmabuf)) < 0 ||
	    (rc = _get_choice(c, t, path, "preset", "preset", _presets, e->preset, sizeof(e->preset))) < 0)
		return rc;
	int rc_preset = rc;
	if ((rc = _get_str(c, t, path, "device", e->device, sizeof(e->device), NULL)) < 0 ||
	    (rc = _get_choice(c, t, path, "fallback", "fallback", fallbacks, e->fallback, sizeof(e->fallback))) < 0)
		return rc;
	rc = rc_preset;
	/* Hardware encoders have no speed/quality trade-off to pick. */
	if (rc > 0 && _index_of(_preset_backends, e->backend) < 0)
		return _FAIL(c, cr_toml_get(t, "preset"), _sub(sub, sizeof(sub), path, "preset"),
			     "preset applies to software encoders only (backend is %s; allowed: software, x264, x265, vpx, aom)",
			     e->backend);
	return _h264_profile(c, t, path, e);
}

static int _load_output(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_output_cfg_s *o)
{
	static const char *const keys[] = {"payload_type", "clock_rate", NULL};
	int rc;
	o->present = true;
	if ((rc = _check_keys(c, t, path, keys)) < 0 ||
	    (rc = _get_intv(c, t, path, "payload_type", 96, 127, &o->payload_type)) < 0 ||
	    (rc = _get_intv(c, t, path, "clock_rate", 1, INT32_MAX, &o->clock_rate)) < 0)
		return rc;
	return 0;
}

static int _load_source(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_source_cfg_s *src)
{
	static const char *const keys[] = {"url", "capture", "encoder", "output", NULL};
	const struct cr_toml_s *cap = NULL, *enc = NULL, *out = NULL, *url = NULL;
	char sub[256];
	int rc;

	src->line = cr_toml_line(t);
	src->output.payload_type = 96;
	src->output.clock_rate = 90000;
	if ((rc = _check_keys(c, t, path, keys)) < 0 || (rc = _get_str(c, t, path, "url", src->url, sizeof(src->url), &url)) < 0 ||
	    (rc = _get_table(c, t, path, "capture", &cap)) < 0 || (rc = _get_table(c, t, path, "encoder", &enc)) < 0 ||
	    (rc = _get_table(c, t, path, "output", &out)) < 0)
		return rc;
	if (url && (cap || enc)) {
		const struct cr_toml_s *v = cap ? cap : enc;
		return _FAIL(c, v, _sub(sub, sizeof(sub), path, cap ? "capture" : "encoder"),
			     "url and capture/encoder are mutually exclusive (a source is either a URL or a device)");
	}
	if (url && (!src->url[0] || (!strstr(src->url, "://") && !strstr(src->url, ".sdp"))))
		return _FAIL(c, url, _sub(sub, sizeof(sub), path, "url"),
			     "not a URL: \"%s\" (allowed: rtsp://..., rtp://..., udp://..., http://..., a .sdp file)", src->url);
	if (!url && !cap)
		return _FAIL(c, t, path, "a source needs either \"url\" or a capture block (allowed: url, capture + encoder)");
	if (cap && (rc = _load_capture(c, cap, _sub(sub, sizeof(sub), path, "capture"), &src->capture)) < 0)
		return rc;
	if (enc && (rc = _load_encoder(c, enc, _sub(sub, sizeof(sub), path, "encoder"), &src->encoder)) < 0)
		return rc;
	if (out && (rc = _load_output(c, out, _sub(sub, sizeof(sub), path, "output"), &src->output)) < 0)
		return rc;
	return 0;
}

/* --- overlay and drm sink keys --- */

/* [x, y, w, h] with w, h > 0. */
static int _rect_of(struct _ctx_s *c, const struct cr_toml_s *v, const char *path, int out[4])
{
	if (cr_toml_type(v) != CR_TOML_ARRAY || cr_toml_len(v) != 4)
		return _FAIL(c, v, path, "expected a rectangle [x, y, width, height]");
	for (size_t i = 0; i < 4; i++) {
		const struct cr_toml_s *e = cr_toml_at(v, i);
		if (cr_toml_type(e) != CR_TOML_INTEGER)
			return _wrong_type(c, e, path, "an integer in [x, y, width, height]");
		int64_t n = cr_toml_int(e);
		int64_t min = i < 2 ? -16384 : 1;
		if (n < min || n > 16384)
			return _FAIL(c, e, path, "%s out of range: %" PRId64 " (allowed: %" PRId64 "..16384)",
				     i == 0 ? "x" : i == 1 ? "y" : i == 2 ? "width" : "height", n, min);
		out[i] = (int)n;
	}
	return 1;
}

static int _get_rect(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key, int out[4])
{
	const struct cr_toml_s *v = cr_toml_get(t, key);
	char sub[256];
	if (!v)
		return 0;
	return _rect_of(c, v, _sub(sub, sizeof(sub), path, key), out);
}

static int _get_rects(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
		      int (*out)[4], int *n)
{
	const struct cr_toml_s *v = cr_toml_get(t, key);
	char sub[256];
	int rc;
	if (!v)
		return 0;
	_sub(sub, sizeof(sub), path, key);
	if (cr_toml_type(v) != CR_TOML_ARRAY)
		return _wrong_type(c, v, sub, "an array of rectangles [[x, y, width, height], ...]");
	if (cr_toml_len(v) > CR_MAX_OVERLAY_RECTS)
		return _FAIL(c, cr_toml_at(v, CR_MAX_OVERLAY_RECTS), sub, "too many rectangles (at most %d)",
			     CR_MAX_OVERLAY_RECTS);
	for (size_t i = 0; i < cr_toml_len(v); i++)
		if ((rc = _rect_of(c, cr_toml_at(v, i), sub, out[i])) < 0)
			return rc;
	*n = (int)cr_toml_len(v);
	return 1;
}

/* Seed 003, table 3 (struct v4l2_framebuffer flags), by name. */
static const char *const _fbuf_flag_names[] = {"primary", "overlay", "chromakey", "src_chromakey",
					       "global_alpha", "local_alpha", "local_inv_alpha", NULL};
static const uint32_t _fbuf_flag_bits[] = {V4L2_FBUF_FLAG_PRIMARY, V4L2_FBUF_FLAG_OVERLAY,
					   V4L2_FBUF_FLAG_CHROMAKEY, V4L2_FBUF_FLAG_SRC_CHROMAKEY,
					   V4L2_FBUF_FLAG_GLOBAL_ALPHA, V4L2_FBUF_FLAG_LOCAL_ALPHA,
					   V4L2_FBUF_FLAG_LOCAL_INV_ALPHA};

static int _get_fbuf_flags(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, uint32_t *out)
{
	const struct cr_toml_s *v = cr_toml_get(t, "flags");
	char sub[256], list[256];
	if (!v)
		return 0;
	_sub(sub, sizeof(sub), path, "flags");
	if (cr_toml_type(v) != CR_TOML_ARRAY)
		return _wrong_type(c, v, sub, "an array of flag names");
	*out = 0;
	for (size_t i = 0; i < cr_toml_len(v); i++) {
		const struct cr_toml_s *e = cr_toml_at(v, i);
		if (cr_toml_type(e) != CR_TOML_STRING)
			return _wrong_type(c, e, sub, "a flag name (string)");
		int k = _index_of(_fbuf_flag_names, cr_toml_str(e, NULL));
		if (k < 0)
			return _FAIL(c, e, sub, "unknown overlay flag \"%.64s\" (allowed: %s)", cr_toml_str(e, NULL),
				     _join(_fbuf_flag_names, list, sizeof(list)));
		*out |= _fbuf_flag_bits[k];
	}
	return 1;
}

/* Keys that belong to one sink type only. */
static int _only_for(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *const *keys,
		     const char *type, const char *want)
{
	char sub[256];
	if (strcmp(type, want) == 0)
		return 0;
	for (int i = 0; keys[i]; i++) {
		const struct cr_toml_s *v = cr_toml_get(t, keys[i]);
		if (v)
			return _fail_at(c, cr_toml_key_line(v), cr_toml_key_col(v), _sub(sub, sizeof(sub), path, keys[i]),
					"only %s sinks take %s (type is %s)", want, keys[i], type);
	}
	return 0;
}

static int _load_overlay_keys(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *type,
			      struct cr_sink_cfg_s *sink)
{
	static const char *const overlay_keys[] = {"window", "clips", "bitmap", "chromakey", "global_alpha", "flags",
						   "destructive", "framebuffer", "osd", NULL};
	static const char *const drm_keys[] = {"connector", "mode", "rect", NULL};
	const struct cr_toml_s *fbv = NULL;
	char sub[256];
	int64_t key = 0;
	int rc;
	if ((rc = _only_for(c, t, path, overlay_keys, type, "overlay")) < 0 ||
	    (rc = _only_for(c, t, path, drm_keys, type, "drm")) < 0)
		return rc;
	if ((rc = _get_rect(c, t, path, "window", sink->window)) < 0)
		return rc;
	sink->has_window = rc > 0;
	if ((rc = _get_rects(c, t, path, "clips", sink->clips, &sink->n_clips)) < 0 ||
	    (rc = _get_rects(c, t, path, "bitmap", sink->bitmap, &sink->n_bitmap)) < 0)
		return rc;
	if ((rc = _get_int(c, t, path, "chromakey", 0, 0xffffff, &key)) < 0)
		return rc;
	sink->has_chromakey = rc > 0;
	sink->chromakey = (uint32_t)key;
	if ((rc = _get_intv(c, t, path, "global_alpha", 0, 255, &sink->global_alpha)) < 0)
		return rc;
	sink->has_global_alpha = rc > 0;
	if ((rc = _get_fbuf_flags(c, t, path, &sink->fbuf_flags)) < 0)
		return rc;
	sink->has_flags = rc > 0;
	if ((rc = _get_bool(c, t, path, "destructive", &sink->destructive)) < 0 ||
	    (rc = _get_bool(c, t, path, "osd", &sink->osd)) < 0 ||
	    (rc = _get_str(c, t, path, "framebuffer", sink->framebuffer, sizeof(sink->framebuffer), &fbv)) < 0)
		return rc;
	if (fbv && strncmp(sink->framebuffer, "/dev/fb", 7) != 0)
		return _FAIL(c, fbv, _sub(sub, sizeof(sub), path, "framebuffer"),
			     "expected a framebuffer device like \"/dev/fb0\", got \"%s\"", sink->framebuffer);
	if (sink->destructive && sink->osd)
		return _FAIL(c, cr_toml_get(t, "osd"), _sub(sub, sizeof(sub), path, "osd"),
			     "an OSD is drawn on a video output overlay, which is never destructive: drop one of "
			     "destructive and osd");
	if ((rc = _get_str(c, t, path, "connector", sink->connector, sizeof(sink->connector), NULL)) < 0 ||
	    (rc = _get_str(c, t, path, "mode", sink->mode, sizeof(sink->mode), NULL)) < 0)
		return rc;
	const struct cr_toml_s *mv = cr_toml_get(t, "mode");
	unsigned mw, mh, hz;
	char end;
	if (mv && sink->mode[0] && sscanf(sink->mode, "%ux%u%c", &mw, &mh, &end) != 2 &&
	    sscanf(sink->mode, "%ux%u@%u%c", &mw, &mh, &hz, &end) != 3)
		return _FAIL(c, mv, _sub(sub, sizeof(sub), path, "mode"),
			     "expected WIDTHxHEIGHT or WIDTHxHEIGHT@HZ like \"1920x1080\", got \"%s\"", sink->mode);
	if ((rc = _get_rect(c, t, path, "rect", sink->rect)) < 0)
		return rc;
	sink->has_rect = rc > 0;
	return 0;
}

static int _load_sink(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_sink_cfg_s *sink)
{
	static const char *const keys[] = {"type", "device", "address", "pixel_format", "width", "height", "fps",
					   "window", "clips", "bitmap", "chromakey", "global_alpha", "flags",
					   "destructive", "framebuffer", "osd", "connector", "mode", "rect", "keep_format",
					   "timeout_ms", NULL};
	static const char *const webcam_keys[] = {"keep_format", "timeout_ms", NULL};
	char type[16], sub[256];
	int rc;

	sink->line = cr_toml_line(t);
	if ((rc = _check_keys(c, t, path, keys)) < 0 ||
	    (rc = _get_choice(c, t, path, "type", "sink type", _sink_types, type, sizeof(type))) < 0)
		return rc;
	if (rc == 0)
		return _missing(c, t, path, "type", " (allowed: webcam, rtp, drm, overlay)");
	sink->type = (enum cr_sink_type_e)(CR_SINK_WEBCAM + _index_of(_sink_types, type));
	if ((rc = _get_str(c, t, path, "device", sink->device, sizeof(sink->device), NULL)) < 0 ||
	    (rc = _get_hostport(c, t, path, "address", sink->address, sizeof(sink->address))) < 0 ||
	    (rc = _get_pixfmt(c, t, path, &sink->pixel_format)) < 0 ||
	    (rc = _get_intv(c, t, path, "width", 0, 16384, &sink->width)) < 0 ||
	    (rc = _get_intv(c, t, path, "height", 0, 16384, &sink->height)) < 0 ||
	    (rc = _get_intv(c, t, path, "fps", 0, 1000, &sink->fps)) < 0 ||
	    (rc = _only_for(c, t, path, webcam_keys, type, "webcam")) < 0)
		return rc;
	sink->keep_format = true;
	sink->timeout_ms = 1500;
	if ((rc = _get_bool(c, t, path, "keep_format", &sink->keep_format)) < 0 ||
	    (rc = _get_intv(c, t, path, "timeout_ms", 0, 100000, &sink->timeout_ms)) < 0)
		return rc;
	const struct cr_toml_s *addr = cr_toml_get(t, "address");
	if (sink->type == CR_SINK_RTP && !addr)
		return _missing(c, t, path, "address", " (an rtp sink sends to host:port)");
	if (sink->type != CR_SINK_RTP && addr)
		return _FAIL(c, addr, _sub(sub, sizeof(sub), path, "address"), "only rtp sinks take an address (type is %s)",
			     type);
	return _load_overlay_keys(c, t, path, type, sink);
}

/* An array of tables, written as [[x]] or as x = [{...}, ...]. */
static int _get_table_array(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, const char *key,
			    size_t max, const struct cr_toml_s **out)
{
	const struct cr_toml_s *v = cr_toml_get(t, key);
	char sub[256];
	if (!v)
		return 0;
	_sub(sub, sizeof(sub), path, key);
	if (cr_toml_type(v) != CR_TOML_ARRAY)
		return _wrong_type(c, v, sub, "an array of tables ([[...]])");
	for (size_t i = 0; i < cr_toml_len(v); i++)
		if (cr_toml_type(cr_toml_at(v, i)) != CR_TOML_TABLE)
			return _wrong_type(c, cr_toml_at(v, i), sub, "an array of tables ([[...]])");
	if (cr_toml_len(v) > max)
		return _FAIL(c, cr_toml_at(v, max), sub, "too many entries (at most %zu)", max);
	*out = v;
	return 1;
}

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

static int _load_stream(struct _ctx_s *c, const struct cr_toml_s *t, const char *path, struct cr_stream_cfg_s *s)
{
	static const char *const keys[] = {"sources", "mjpeg", "sinks", NULL};
	static const char *const mjpeg_keys[] = {"quality", "fps", NULL};
	const struct cr_toml_s *sources = NULL, *sinks = NULL, *mjpeg = NULL;
	char sub[256], item[300];
	int rc;

	s->mjpeg.quality = 80;
	if ((rc = _check_keys(c, t, path, keys)) < 0 ||
	    (rc = _get_table_array(c, t, path, "sources", CR_MAX_SOURCES, &sources)) < 0 ||
	    (rc = _get_table_array(c, t, path, "sinks", CR_MAX_SINKS, &sinks)) < 0 ||
	    (rc = _get_table(c, t, path, "mjpeg", &mjpeg)) < 0)
		return rc;
	if (!sources || cr_toml_len(sources) == 0)
		return _FAIL(c, t, path, "a stream needs at least one source: add [[%s.sources]]", path);
	_sub(sub, sizeof(sub), path, "sources");
	for (size_t i = 0; i < cr_toml_len(sources); i++) {
		snprintf(item, sizeof(item), "%s[%zu]", sub, i);
		if ((rc = _load_source(c, cr_toml_at(sources, i), item, &s->sources[s->n_sources++])) < 0)
			return rc;
	}
	_sub(sub, sizeof(sub), path, "sinks");
	for (size_t i = 0; i < cr_toml_len(sinks); i++) {
		snprintf(item, sizeof(item), "%s[%zu]", sub, i);
		if ((rc = _load_sink(c, cr_toml_at(sinks, i), item, &s->sinks[s->n_sinks++])) < 0)
			return rc;
	}
	if (mjpeg) {
		_sub(sub, sizeof(sub), path, "mjpeg");
		if ((rc = _check_keys(c, mjpeg, sub, mjpeg_keys)) < 0 ||
		    (rc = _get_intv(c, mjpeg, sub, "quality", 1, 100, &s->mjpeg.quality)) < 0 ||
		    (rc = _get_intv(c, mjpeg, sub, "fps", 0, 1000, &s->mjpeg.fps)) < 0)
			return rc;
	}
	return 0;
}

static int _load_webrtc(struct _ctx_s *c, const struct cr_toml_s *t, struct cr_webrtc_cfg_s *w)
{
	static const char *const keys[] = {"port", "candidates", "timeout", NULL};
	const struct cr_toml_s *cands = cr_toml_get(t, "candidates");
	char sub[64];
	int rc;

	if ((rc = _check_keys(c, t, "webrtc", keys)) < 0 ||
	    (rc = _get_intv(c, t, "webrtc", "port", 1, 65535, &w->port)) < 0 ||
	    (rc = _get_intv(c, t, "webrtc", "timeout", 1, 3600, &w->timeout)) < 0)
		return rc;
	if (!cands)
		return 0;
	if (cr_toml_type(cands) != CR_TOML_ARRAY)
		return _wrong_type(c, cands, "webrtc.candidates", "an array of address strings");
	if (cr_toml_len(cands) > CR_MAX_CANDIDATES)
		return _FAIL(c, cr_toml_at(cands, CR_MAX_CANDIDATES), "webrtc.candidates", "too many entries (at most %d)",
			     CR_MAX_CANDIDATES);
	for (size_t i = 0; i < cr_toml_len(cands); i++) {
		const struct cr_toml_s *v = cr_toml_at(cands, i);
		snprintf(sub, sizeof(sub), "webrtc.candidates[%zu]", i);
		if (cr_toml_type(v) != CR_TOML_STRING)
			return _wrong_type(c, v, sub, "a string");
		const char *s = cr_toml_str(v, NULL), *problem = cr_cfg_ip_problem(s);
		if (problem)
			return _FAIL(c, v, sub, "invalid address \"%.64s\": %s", s, problem);
		snprintf(w->candidates[w->n_candidates++], sizeof(w->candidates[0]), "%s", s);
	}
	return 0;
}

static int _load_root(struct _ctx_s *c, const struct cr_toml_s *root, struct cr_config_s *cfg)
{
	static const char *const keys[] = {"http", "stream", "webrtc", NULL};
	static const char *const http_keys[] = {"listen", NULL};
	const struct cr_toml_s *http = NULL, *streams = NULL, *webrtc = NULL;
	char path[256];
	int rc;

	if ((rc = _check_keys(c, root, "", keys)) < 0 || (rc = _get_table(c, root, "", "http", &http)) < 0 ||
	    (rc = _get_table(c, root, "", "stream", &streams)) < 0)
		return rc;
	if (http && ((rc = _check_keys(c, http, "http", http_keys)) < 0 ||
		     (rc = _get_hostport(c, http, "http", "listen", cfg->http.listen, sizeof(cfg->http.listen))) < 0))
		return rc;
	if ((rc = _get_table(c, root, "", "webrtc", &webrtc)) < 0 || (webrtc && (rc = _load_webrtc(c, webrtc, &cfg->webrtc)) < 0))
		return rc;
	if (!streams || cr_toml_len(streams) == 0)
		return _fail_at(c, 1, 1, "stream", "no streams defined: add a [stream.<name>] table with [[stream.<name>.sources]]");
	if (cr_toml_len(streams) > CR_MAX_STREAMS)
		return _FAIL(c, cr_toml_at(streams, CR_MAX_STREAMS), "stream", "too many streams (at most %d)", CR_MAX_STREAMS);
	for (size_t i = 0; i < cr_toml_len(streams); i++) {
		const struct cr_toml_s *t = cr_toml_at(streams, i);
		const char *name = cr_toml_key(t);
		struct cr_stream_cfg_s *s = &cfg->streams[cfg->n_streams++];
		snprintf(path, sizeof(path), "stream.%.200s", name);
		if (!_valid_stream_name(name) || strlen(name) >= sizeof(s->name))
			return _fail_at(c, cr_toml_key_line(t), cr_toml_key_col(t), path,
					"invalid stream name \"%.200s\" (allowed: 1..%zu of A-Z a-z 0-9 _ -; it appears in URLs)",
					name, sizeof(s->name) - 1);
		if (cr_toml_type(t) != CR_TOML_TABLE)
			return _wrong_type(c, t, path, "a table ([stream.<name>])");
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
	struct _ctx_s c = {.file = name, .err = err, .errlen = errlen};
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
	return rc;
}

int cr_config_load(const char *path, struct cr_config_s *cfg, char *err, size_t errlen)
{
	struct stat st;
	char *text = NULL;
	int rc, fd = open(path, O_RDONLY | O_CLOEXEC);

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

void cr_config_default(struct cr_config_s *cfg)
{
	_init(cfg, "");
	struct cr_stream_cfg_s *s = &cfg->streams[0];
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

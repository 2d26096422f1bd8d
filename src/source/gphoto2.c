/* Live view from DSLR and mirrorless cameras through libgphoto2: one
 * gp_camera_capture_preview() per frame, each a JPEG handed on untouched
 * (the frame holds the CameraFile until its last reference drops; the stream
 * core decodes it only if a sink wants raw pixels).
 *
 * Recovery, after the pains users report (docs/peers.md):
 *  - the desktop's gvfs monitor holding the camera (-53): a message naming the fix;
 *  - unplug, sleep, "PTP No Device" (-52), I/O errors and timeouts: read()
 *    fails, the core reconnects with backoff, and every open re-initialises
 *    the camera from scratch (gp_camera_new/init; libgphoto2 never recovers a
 *    Camera that saw -52, libgphoto2#1069);
 *  - live view dropped while the camera still answers (Nikon bodies after
 *    thousands of frames): live view is switched off and on again, and only
 *    if that keeps failing is the camera re-initialised. */
#include "source/gphoto2.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gphoto2/gphoto2.h>
#include <turbojpeg.h>

#include "core/clock.h"
#include "core/log.h"
#include "source/source.h"

#define _LV_RESTARTS_MAX 3 /* live-view restarts in a row before a full re-init */

/* snprintf that truncates quietly: messages are cut, never overflow (and
 * gcc's -Wformat-truncation does not look through the va_list). */
static __attribute__((format(printf, 3, 4))) void _fmt(char *dst, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(dst, len, fmt, ap);
	va_end(ap);
}

/* gp_camera_init/exit load and unload camlibs through libltdl, which is not
 * thread-safe: every init, exit and detection takes this lock. */
static pthread_mutex_t _gp_global = PTHREAD_MUTEX_INITIALIZER;

struct _gp_s {
	GPContext *ctx;
	Camera *cam;
	pthread_mutex_t lock; /* one libgphoto2 call at a time on this camera */
	tjhandle tj;
	char name[256];  /* "model at port", for messages */
	char gp_msg[256]; /* libgphoto2's last context error */
	struct cr_frame_s *pending; /* the first frame, read by open() */
	int lv_restarts;
	int64_t rate_t0;
	int rate_n;
	bool dead; /* the camera stopped answering: close without talking to it */
};

static void _on_ctx_error(GPContext *ctx, const char *text, void *data)
{
	struct _gp_s *g = data;
	_fmt(g->gp_msg, sizeof(g->gp_msg), "%s", text);
	for (char *p = g->gp_msg; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

static bool _gp_fatal(int r)
{
	return r == GP_ERROR_IO || r == GP_ERROR_TIMEOUT || (r <= GP_ERROR_IO_SUPPORTED_SERIAL && r >= GP_ERROR_HAL);
}

/* Puts a message a user can act on into src->error; returns -errno. */
static int _gp_fail(struct cr_source_s *src, struct _gp_s *g, const char *what, int r)
{
	const char *detail = g->gp_msg[0] ? g->gp_msg : gp_result_as_string(r);
	switch (r) {
	case GP_ERROR_IO_USB_CLAIM:
		_fmt(src->error, sizeof(src->error),
			 "camera %s is held by another program (usually gvfs-gphoto2-volume-monitor); run: "
			 "gio mount -s gphoto2  or: systemctl --user stop gvfs-gphoto2-volume-monitor",
			 g->name);
		return -EBUSY;
	case GP_ERROR_IO_USB_FIND:
		_fmt(src->error, sizeof(src->error),
			 "camera %s is gone (PTP No Device: unplugged, switched off or asleep); "
			 "re-initialising it when it is back",
			 g->name);
		return -ENODEV;
	case GP_ERROR_TIMEOUT:
		_fmt(src->error, sizeof(src->error),
			 "camera %s does not answer (%s: asleep or out of reach?); retrying", g->name, what);
		return -ETIMEDOUT;
	case GP_ERROR_MODEL_NOT_FOUND:
		_fmt(src->error, sizeof(src->error),
			 "no camera found by libgphoto2 (is it on, connected and in PTP mode? check: gphoto2 "
			 "--auto-detect)");
		return -ENODEV;
	case GP_ERROR_NOT_SUPPORTED:
		_fmt(src->error, sizeof(src->error),
			 "camera %s: %s is not supported by libgphoto2 for this model (%s); cameras with "
			 "'Liveview' at http://www.gphoto.org/proj/libgphoto2/support.php work",
			 g->name, what, detail);
		return -ENOTSUP;
	default:
		_fmt(src->error, sizeof(src->error), "camera %s: %s failed: %s (gphoto2 error %d)", g->name,
			 what, detail, r);
		return _gp_fatal(r) ? -EIO : -EPROTO;
	}
}

/* ---- detection ---- */

static int _gp_detect(GPContext *ctx, CameraList *list)
{
	pthread_mutex_lock(&_gp_global);
	int r = gp_camera_autodetect(list, ctx);
	pthread_mutex_unlock(&_gp_global);
	return r;
}

int cr_gphoto2_list(struct cr_gphoto2_camera_s *out, int max)
{
	GPContext *ctx = gp_context_new();
	CameraList *list = NULL;
	if (!ctx || gp_list_new(&list) < GP_OK) {
		if (ctx)
			gp_context_unref(ctx);
		return -ENOMEM;
	}
	int r = _gp_detect(ctx, list), n = 0;
	for (int i = 0; r >= GP_OK && i < gp_list_count(list) && n < max; i++) {
		const char *model = NULL, *port = NULL;
		gp_list_get_name(list, i, &model);
		gp_list_get_value(list, i, &port);
		_fmt(out[n].model, sizeof(out[n].model), "%s", model ? model : "?");
		_fmt(out[n].port, sizeof(out[n].port), "%s", port ? port : "?");
		n++;
	}
	gp_list_free(list);
	gp_context_unref(ctx);
	return r < GP_OK ? -EIO : n;
}

/* Chooses model and port from the configured device: "" = first detected,
 * a port path ("usb:001,004", "ptpip:192.168.1.1") or a model name. */
static int _gp_choose(struct cr_source_s *src, struct _gp_s *g, char *model, size_t mlen, char *port,
		      size_t plen)
{
	const char *dev = src->cfg->device;
	if (strncmp(dev, "ptpip:", 6) == 0) { /* cannot be probed: the generic PTP/IP driver */
		_fmt(model, mlen, "PTP/IP Camera");
		_fmt(port, plen, "%s", dev);
		return 0;
	}
	CameraList *list = NULL;
	if (gp_list_new(&list) < GP_OK)
		return -ENOMEM;
	int r = _gp_detect(g->ctx, list);
	bool is_port = strchr(dev, ':') != NULL;
	int found = -1, n = r >= GP_OK ? gp_list_count(list) : 0;
	char seen[200] = "";
	for (int i = 0; i < n && found < 0; i++) {
		const char *m = NULL, *p = NULL;
		gp_list_get_name(list, i, &m);
		gp_list_get_value(list, i, &p);
		if (!m || !p)
			continue;
		size_t sl = strlen(seen);
		_fmt(seen + sl, sizeof(seen) - sl, "%s\"%s\" at %s", sl ? ", " : "", m, p);
		if (!dev[0] || (is_port && strcmp(dev, p) == 0) || (!is_port && strcasecmp(dev, m) == 0)) {
			found = i;
			_fmt(model, mlen, "%s", m);
			_fmt(port, plen, "%s", p);
		}
	}
	gp_list_free(list);
	if (found >= 0)
		return 0;
	if (!dev[0])
		_fmt(src->error, sizeof(src->error),
			 "no camera found by libgphoto2 (is it on, connected by USB and in PTP mode? check: "
			 "gphoto2 --auto-detect)");
	else
		_fmt(src->error, sizeof(src->error), "no camera %s \"%s\" (libgphoto2 sees: %s)",
			 is_port ? "at port" : "named", dev, seen[0] ? seen : "none");
	return -ENODEV;
}

static int _gp_connect(struct cr_source_s *src, struct _gp_s *g)
{
	char model[128], port[128];
	int r = _gp_choose(src, g, model, sizeof(model), port, sizeof(port));
	if (r < 0)
		return r;
	_fmt(g->name, sizeof(g->name), "\"%s\" at %s", model, port);
	_fmt(src->device_path, sizeof(src->device_path), "%s", port);

	CameraAbilitiesList *al = NULL;
	GPPortInfoList *il = NULL;
	CameraAbilities a;
	GPPortInfo pi;
	int m, p;
	if ((r = gp_abilities_list_new(&al)) < GP_OK || (r = gp_abilities_list_load(al, g->ctx)) < GP_OK ||
	    (m = r = gp_abilities_list_lookup_model(al, model)) < GP_OK ||
	    (r = gp_abilities_list_get_abilities(al, m, &a)) < GP_OK ||
	    (r = gp_camera_set_abilities(g->cam, a)) < GP_OK || (r = gp_port_info_list_new(&il)) < GP_OK ||
	    (r = gp_port_info_list_load(il)) < GP_OK || (p = r = gp_port_info_list_lookup_path(il, port)) < GP_OK ||
	    (r = gp_port_info_list_get_info(il, p, &pi)) < GP_OK || (r = gp_camera_set_port_info(g->cam, pi)) < GP_OK) {
		if (al)
			gp_abilities_list_free(al);
		if (il)
			gp_port_info_list_free(il);
		_fmt(src->error, sizeof(src->error), "camera %s: libgphoto2 has no driver or port for it: %s",
			 g->name, gp_result_as_string(r));
		return -ENODEV;
	}
	gp_abilities_list_free(al);
	gp_port_info_list_free(il);
	g->gp_msg[0] = 0;
	r = gp_camera_init(g->cam, g->ctx);
	return r < GP_OK ? _gp_fail(src, g, "opening the session", r) : 0;
}

/* ---- settings (the widget tree) ---- */

/* Compares names ignoring case, '_' and '-': "white_balance" = "whitebalance",
 * "f_number" = "f-number". */
static bool _name_eq(const char *a, const char *b)
{
	for (;;) {
		while (*a == '_' || *a == '-')
			a++;
		while (*b == '_' || *b == '-')
			b++;
		if (!*a || !*b)
			return !*a && !*b;
		if ((*a | 0x20) != (*b | 0x20))
			return false;
		a++;
		b++;
	}
}

static CameraWidget *_find_widget(CameraWidget *w, const char *name)
{
	const char *wn = NULL;
	CameraWidgetType t;
	gp_widget_get_type(w, &t);
	if (t != GP_WIDGET_WINDOW && t != GP_WIDGET_SECTION && gp_widget_get_name(w, &wn) == GP_OK && wn &&
	    _name_eq(wn, name))
		return w;
	for (int i = 0; i < gp_widget_count_children(w); i++) {
		CameraWidget *c = NULL, *hit;
		if (gp_widget_get_child(w, i, &c) == GP_OK && (hit = _find_widget(c, name)))
			return hit;
	}
	return NULL;
}

static int _choice_index(CameraWidget *w, const char *cur)
{
	for (int i = 0; cur && i < gp_widget_count_choices(w); i++) {
		const char *c = NULL;
		if (gp_widget_get_choice(w, i, &c) == GP_OK && c && strcmp(c, cur) == 0)
			return i;
	}
	return -1;
}

/* Sets one widget from text; error in src->error. */
static int _set_widget(struct cr_source_s *src, CameraWidget *w, const char *name, const char *value)
{
	CameraWidgetType t;
	gp_widget_get_type(w, &t);
	int r = GP_ERROR_BAD_PARAMETERS;
	switch (t) {
	case GP_WIDGET_RADIO:
	case GP_WIDGET_MENU: {
		const char *pick = NULL;
		char allowed[160] = "";
		int n = gp_widget_count_choices(w);
		for (int i = 0; i < n && !pick; i++) {
			const char *c = NULL;
			if (gp_widget_get_choice(w, i, &c) != GP_OK || !c)
				continue;
			if (strcasecmp(c, value) == 0 || (strtod(c, NULL) != 0 && strtod(c, NULL) == strtod(value, NULL) &&
							   strspn(value, "0123456789.") == strlen(value)))
				pick = c;
			size_t l = strlen(allowed);
			_fmt(allowed + l, sizeof(allowed) - l, "%s%s", l ? ", " : "", c);
		}
		if (!pick) {
			_fmt(src->error, sizeof(src->error), "setting %s: \"%s\" is not one of the camera's choices (%s)",
				 name, value, allowed);
			return -EINVAL;
		}
		r = gp_widget_set_value(w, pick);
		break;
	}
	case GP_WIDGET_TEXT:
		r = gp_widget_set_value(w, value);
		break;
	case GP_WIDGET_RANGE: {
		char *end;
		float v = strtof(value, &end), lo, hi, step;
		gp_widget_get_range(w, &lo, &hi, &step);
		if (end == value || *end || v < lo || v > hi) {
			_fmt(src->error, sizeof(src->error), "setting %s: \"%s\" is not a number in %g..%g", name,
				 value, lo, hi);
			return -EINVAL;
		}
		r = gp_widget_set_value(w, &v);
		break;
	}
	case GP_WIDGET_TOGGLE: {
		int v = strcmp(value, "1") == 0 || strcasecmp(value, "on") == 0 || strcasecmp(value, "true") == 0;
		if (!v && strcmp(value, "0") && strcasecmp(value, "off") && strcasecmp(value, "false")) {
			_fmt(src->error, sizeof(src->error), "setting %s: \"%s\" is not on/off", name, value);
			return -EINVAL;
		}
		r = gp_widget_set_value(w, &v);
		break;
	}
	default:
		_fmt(src->error, sizeof(src->error), "setting %s cannot be set from text", name);
		return -EINVAL;
	}
	return r < GP_OK ? -EINVAL : 0;
}

static int _gp_set_control(struct cr_source_s *src, const char *name, const char *value)
{
	struct _gp_s *g = src->priv;
	CameraWidget *root = NULL;
	pthread_mutex_lock(&g->lock);
	g->gp_msg[0] = 0;
	int r = gp_camera_get_config(g->cam, &root, g->ctx);
	if (r < GP_OK) {
		pthread_mutex_unlock(&g->lock);
		return _gp_fail(src, g, "reading the settings", r);
	}
	CameraWidget *w = _find_widget(root, name);
	if (!w && _name_eq(name, "aperture"))
		w = _find_widget(root, "f-number");
	int ro = 0;
	if (w)
		gp_widget_get_readonly(w, &ro);
	if (!w || ro) {
		_fmt(src->error, sizeof(src->error), "camera %s has no %ssetting \"%s\" (see: camrelay list --controls, or gphoto2 --list-config)",
			 g->name, w ? "writable " : "", name);
		r = -ENOENT;
	} else if ((r = _set_widget(src, w, name, value)) == 0) {
		const char *wn = name;
		gp_widget_get_name(w, &wn);
		int gr = gp_camera_set_single_config(g->cam, wn, w, g->ctx);
		if (gr < GP_OK)
			r = _gp_fail(src, g, "changing a setting", gr);
	}
	gp_widget_free(root);
	pthread_mutex_unlock(&g->lock);
	return r;
}

struct _walk_s {
	struct cr_control_info_s *out;
	int max, n;
};

static void _walk(CameraWidget *w, struct _walk_s *k)
{
	CameraWidgetType t;
	gp_widget_get_type(w, &t);
	if (t == GP_WIDGET_WINDOW || t == GP_WIDGET_SECTION) {
		for (int i = 0; i < gp_widget_count_children(w); i++) {
			CameraWidget *c = NULL;
			if (gp_widget_get_child(w, i, &c) == GP_OK)
				_walk(c, k);
		}
		return;
	}
	const char *name = NULL;
	if (k->n >= k->max || gp_widget_get_name(w, &name) != GP_OK || !name || strcmp(name, "opcode") == 0)
		return;
	struct cr_control_info_s *c = &k->out[k->n];
	memset(c, 0, sizeof(*c));
	_fmt(c->name, sizeof(c->name), "%s", name);
	for (char *p = c->name; *p; p++)
		*p = *p == '-' ? '_' : (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	switch (t) {
	case GP_WIDGET_RADIO:
	case GP_WIDGET_MENU: {
		const char *cur = NULL;
		gp_widget_get_value(w, &cur);
		c->type = CR_CONTROL_MENU;
		c->max = gp_widget_count_choices(w) - 1;
		c->step = 1;
		c->value = _choice_index(w, cur);
		_fmt(c->text, sizeof(c->text), "%s", cur ? cur : "");
		break;
	}
	case GP_WIDGET_RANGE: {
		float lo, hi, step, v = 0;
		gp_widget_get_range(w, &lo, &hi, &step);
		gp_widget_get_value(w, &v);
		c->type = CR_CONTROL_INT;
		c->min = llroundf(lo);
		c->max = llroundf(hi);
		c->step = llroundf(step) > 0 ? llroundf(step) : 1;
		c->value = llroundf(v);
		_fmt(c->text, sizeof(c->text), "%g", v);
		break;
	}
	case GP_WIDGET_TOGGLE: {
		int v = 0;
		gp_widget_get_value(w, &v);
		c->type = CR_CONTROL_BOOL;
		c->max = c->step = 1;
		c->value = v;
		break;
	}
	case GP_WIDGET_TEXT: {
		const char *v = NULL;
		gp_widget_get_value(w, &v);
		c->type = CR_CONTROL_STRING;
		_fmt(c->text, sizeof(c->text), "%s", v ? v : "");
		break;
	}
	case GP_WIDGET_BUTTON:
		c->type = CR_CONTROL_BUTTON;
		break;
	default:
		return; /* dates: not settable from the config */
	}
	k->n++;
}

static int _gp_list_controls(struct cr_source_s *src, struct cr_control_info_s *out, int max)
{
	struct _gp_s *g = src->priv;
	CameraWidget *root = NULL;
	pthread_mutex_lock(&g->lock);
	int r = gp_camera_get_config(g->cam, &root, g->ctx);
	pthread_mutex_unlock(&g->lock);
	if (r < GP_OK)
		return _gp_fail(src, g, "reading the settings", r);
	struct _walk_s k = {.out = out, .max = max};
	_walk(root, &k);
	gp_widget_free(root);
	return k.n;
}

/* ---- live view ---- */

static void _gp_frame_release(struct cr_frame_s *f)
{
	gp_file_unref(f->owner);
	free(f);
}

/* One preview. GP_OK with *out set, or a gphoto2 error (GP_ERROR_CORRUPTED_DATA:
 * not a JPEG). */
static int _gp_capture(struct _gp_s *g, struct cr_frame_s **out)
{
	CameraFile *file = NULL;
	int r = gp_file_new(&file);
	if (r < GP_OK)
		return r;
	pthread_mutex_lock(&g->lock);
	g->gp_msg[0] = 0;
	r = gp_camera_capture_preview(g->cam, file, g->ctx);
	pthread_mutex_unlock(&g->lock);
	const char *data = NULL;
	unsigned long size = 0;
	int w = 0, h = 0, subsamp, cs;
	if (r >= GP_OK && (gp_file_get_data_and_size(file, &data, &size) < GP_OK || size == 0 ||
			   tjDecompressHeader3(g->tj, (const unsigned char *)data, size, &w, &h, &subsamp, &cs) != 0)) {
		_fmt(g->gp_msg, sizeof(g->gp_msg), "the live-view image is not a JPEG (%lu bytes)", size);
		r = GP_ERROR_CORRUPTED_DATA;
	}
	struct cr_frame_s *f = r >= GP_OK ? calloc(1, sizeof(*f)) : NULL;
	if (!f) {
		gp_file_unref(file);
		return r >= GP_OK ? GP_ERROR_NO_MEMORY : r;
	}
	atomic_init(&f->refs, 1);
	f->format = CR_PIXFMT_MJPEG;
	f->width = w;
	f->height = h;
	f->n_planes = 1;
	f->data[0] = (uint8_t *)data; /* zero copy: the CameraFile's own buffer */
	f->size = size;
	f->dmabuf_fd = -1;
	f->ts_capture_ns = cr_now_ns();
	f->release = _gp_frame_release;
	f->owner = file;
	atomic_fetch_add(&cr_frames_alive, 1);
	*out = f;
	return GP_OK;
}

/* Switches live view off; the next preview switches it on again (Nikon:
 * EndLiveView, then StartLiveView). */
static int _gp_restart_liveview(struct _gp_s *g)
{
	CameraWidget *w = NULL;
	pthread_mutex_lock(&g->lock);
	int r = gp_camera_get_single_config(g->cam, "viewfinder", &w, g->ctx);
	if (r >= GP_OK) {
		int off = 0;
		gp_widget_set_value(w, &off);
		r = gp_camera_set_single_config(g->cam, "viewfinder", w, g->ctx);
		gp_widget_free(w);
	}
	pthread_mutex_unlock(&g->lock);
	return r;
}

static void _gp_measure_rate(struct cr_source_s *src, struct _gp_s *g, int64_t now)
{
	if (g->rate_n++ == 0) {
		g->rate_t0 = now;
		return;
	}
	if (now - g->rate_t0 >= 2000000000LL && g->rate_n > 4) {
		double fps = (g->rate_n - 1) * 1e9 / (double)(now - g->rate_t0);
		src->fps_num = (int)lround(fps * 1000);
		src->fps_den = 1000;
		g->rate_n = 1;
		g->rate_t0 = now;
	}
}

static void _gp_dispose(struct _gp_s *g)
{
	pthread_mutex_lock(&_gp_global);
	if (g->cam) {
		gp_camera_exit(g->cam, g->ctx);
		gp_camera_free(g->cam);
	}
	pthread_mutex_unlock(&_gp_global);
	if (g->ctx)
		gp_context_unref(g->ctx);
	if (g->tj)
		tjDestroy(g->tj);
	pthread_mutex_destroy(&g->lock);
	free(g);
}

static void *_gp_reaper(void *arg)
{
	_gp_dispose(arg);
	return NULL;
}

static void _gp_close(struct cr_source_s *src)
{
	struct _gp_s *g = src->priv;
	if (!g)
		return;
	src->priv = NULL;
	cr_frame_unref(g->pending);
	/* A camera that stopped answering makes gp_camera_exit wait for timeouts
	 * (seconds); do that on the side so placeholders keep flowing. */
	pthread_t t;
	pthread_attr_t attr;
	if (g->dead && pthread_attr_init(&attr) == 0) {
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		int r = pthread_create(&t, &attr, _gp_reaper, g);
		pthread_attr_destroy(&attr);
		if (r == 0)
			return;
	}
	_gp_dispose(g);
}

static int _gp_open(struct cr_source_s *src)
{
	/* libgphoto2 writes to PTP/IP sockets; a camera that hangs up must not
	 * kill the process with SIGPIPE. */
	struct sigaction sa;
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);

	struct _gp_s *g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	pthread_mutex_init(&g->lock, NULL);
	src->priv = g;
	_fmt(g->name, sizeof(g->name), "%s", src->cfg->device[0] ? src->cfg->device : "(first found)");
	g->ctx = gp_context_new();
	g->tj = tjInitDecompress();
	if (!g->ctx || !g->tj || gp_camera_new(&g->cam) < GP_OK) {
		_fmt(src->error, sizeof(src->error), "out of memory");
		_gp_close(src);
		return -ENOMEM;
	}
	gp_context_set_error_func(g->ctx, _on_ctx_error, g);

	/* Wait a little for an earlier connection being closed on the side. */
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += 200000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	if (pthread_mutex_timedlock(&_gp_global, &until) != 0) {
		_fmt(src->error, sizeof(src->error),
			 "camera %s: the previous connection is still closing (camera not answering); retrying", g->name);
		_gp_close(src);
		return -EAGAIN;
	}
	int r = _gp_connect(src, g);
	pthread_mutex_unlock(&_gp_global);
	if (r < 0) {
		g->dead = r == -ETIMEDOUT || r == -EIO;
		_gp_close(src);
		return r;
	}

	src->note[0] = 0;
	for (int i = 0; i < src->cfg->n_controls; i++) {
		const struct cr_control_cfg_s *c = &src->cfg->controls[i];
		src->error[0] = 0;
		if (_gp_set_control(src, c->name, c->value) < 0) {
			size_t l = strlen(src->note);
			_fmt(src->note + l, sizeof(src->note) - l, "%s%s", l ? "; " : "", src->error);
		}
	}
	src->error[0] = 0;

	/* The first frame gives the size (the camera's live-view size, not the
	 * configured one: live view has one size per body). */
	struct cr_frame_s *f = NULL;
	r = _gp_capture(g, &f);
	if (r < GP_OK) {
		int e = _gp_fail(src, g, "starting live view", r);
		g->dead = _gp_fatal(r);
		_gp_close(src);
		return e;
	}
	g->pending = f;
	src->format = CR_PIXFMT_MJPEG;
	src->width = f->width;
	src->height = f->height;
	if ((src->cfg->width && src->cfg->width != f->width) || (src->cfg->height && src->cfg->height != f->height)) {
		size_t l = strlen(src->note);
		_fmt(src->note + l, sizeof(src->note) - l,
			 "%scamera %s gives live view at %dx%d, not the configured %dx%d", l ? "; " : "", g->name,
			 f->width, f->height, src->cfg->width, src->cfg->height);
	}
	g->rate_n = 0;
	_gp_measure_rate(src, g, f->ts_capture_ns);
	return 0;
}

static int _gp_read(struct cr_source_s *src, struct cr_frame_s **out, int timeout_ms)
{
	struct _gp_s *g = src->priv;
	if (g->pending) {
		*out = g->pending;
		g->pending = NULL;
		return 0;
	}
	struct cr_frame_s *f = NULL;
	int r = _gp_capture(g, &f); /* blocks for about one frame interval */
	if (r >= GP_OK) {
		g->lv_restarts = 0;
		_gp_measure_rate(src, g, f->ts_capture_ns);
		*out = f;
		if (f->width != src->width || f->height != src->height) {
			src->width = f->width;
			src->height = f->height;
			return 1;
		}
		return 0;
	}
	if (_gp_fatal(r)) {
		g->dead = true;
		return _gp_fail(src, g, "live view", r);
	}
	/* The camera answered, with an error: live view broke. Restart it. */
	char why[256];
	_fmt(why, sizeof(why), "%s", g->gp_msg[0] ? g->gp_msg : gp_result_as_string(r));
	if (++g->lv_restarts > _LV_RESTARTS_MAX) {
		_fmt(src->error, sizeof(src->error),
			 "camera %s: live view failed %d times in a row (%s); re-initialising the camera", g->name,
			 g->lv_restarts, why);
		return -EIO;
	}
	CR_LOG_W(src->stream_name, "camera %s: live view failed (%s); restarting live view", g->name, why);
	int rr = _gp_restart_liveview(g);
	if (rr < GP_OK && rr != GP_ERROR_BAD_PARAMETERS && rr != GP_ERROR_NOT_SUPPORTED) {
		/* Not even that answers: the connection is gone (PTP/IP hang-up). */
		g->dead = true;
		return _gp_fail(src, g, "restarting live view", rr);
	}
	(void)timeout_ms;
	return 0;
}

const struct cr_source_ops_s cr_source_gphoto2 = {
	.name = "gphoto2",
	.open = _gp_open,
	.read = _gp_read,
	.close = _gp_close,
	.list_controls = _gp_list_controls,
	.set_control = _gp_set_control,
};

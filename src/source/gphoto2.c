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
 *    if that keeps failing is the camera re-initialised;
 *  - Canon EOS bodies end live view by themselves (a timeout) and report it
 *    only through their event queue: the queue is read after every frame
 *    (_gp_drain_events), so the next preview switches live view on again at
 *    once; libgphoto2's own KeepDeviceOn in every preview and event poll keeps
 *    the body from powering off while it streams.
 *
 * Built as the module camrelay-gphoto2.so (core/module.h; its entry in the
 * core, with the camera listing's, is gphoto2_module.c): libgphoto2, libexif
 * and libltdl are mapped only when a config, `camrelay list` or `camrelay
 * webcam` uses them. */
#include "source/gphoto2.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <gphoto2/gphoto2.h>
#include <turbojpeg.h>

#include "core/clock.h"
#include "core/log.h"
#include "core/module.h"
#include "source/source.h"

#define _LV_RESTARTS_MAX 3 /* live-view restarts in a row before a full re-init */

/* gp_camera_init/exit load and unload camlibs through libltdl, which is not
 * thread-safe: every init, exit and detection takes this lock. */
static pthread_mutex_t _gp_global = PTHREAD_MUTEX_INITIALIZER;

/* One camera session. libgphoto2 calls block (a preview waits for the
 * camera's next frame; a camera that stopped answering takes seconds to time
 * out), so a worker thread owns the session and hands frames over through a
 * one-frame mailbox; the stream core's read() waits at most its timeout and
 * keeps sending placeholders while the camera is slow, gone or asleep. */
struct _gp_s {
	atomic_int refs; /* the source and the worker */
	struct cr_capture_cfg_s cfg; /* copied: the worker may outlive the stream */
	char who[64];                /* stream name, for the log */

	pthread_mutex_t mbox_lock;
	pthread_cond_t mbox_cond;
	struct cr_frame_s *mbox; /* newest frame not yet read */
	int state;               /* 0 running (or starting), -errno: the session ended */
	char error[256];         /* why, once state < 0 */
	char port[128];
	atomic_bool stop;
	bool done; /* the worker has let go of the camera */

	pthread_mutex_t lock; /* one libgphoto2 call at a time on this camera */
	bool cam_ready;       /* under lock: init done, not yet exiting */
	GPContext *ctx;
	Camera *cam;
	tjhandle tj;
	char name[256];   /* "model" at port, for messages */
	char gp_msg[256]; /* libgphoto2's last context error */
	int lv_restarts;
	int events; /* 0 not checked yet, 1 read the camera's events after each frame, -1 do not */
	atomic_bool dead; /* the camera stopped answering */

	/* Read side (the core's capture thread). */
	int64_t rate_t0, rate_last;
	int rate_n;
};

static void _on_ctx_error(GPContext *ctx, const char *text, void *data)
{
	struct _gp_s *g = data;
	cr_msgf(g->gp_msg, sizeof(g->gp_msg), "%s", text);
	for (char *p = g->gp_msg; *p; p++)
		if (*p == '\n')
			*p = ' ';
}

static bool _gp_fatal(int r)
{
	return r == GP_ERROR_IO || r == GP_ERROR_TIMEOUT || (r <= GP_ERROR_IO_SUPPORTED_SERIAL && r >= GP_ERROR_HAL);
}

/* Puts a message a user can act on into err; returns -errno. */
static int _gp_fail(struct _gp_s *g, char *err, size_t errlen, const char *what, int r)
{
	const char *detail = g->gp_msg[0] ? g->gp_msg : gp_result_as_string(r);
	switch (r) {
	case GP_ERROR_IO_USB_CLAIM:
		cr_msgf(err, errlen,
		     "camera %s is held by another program (usually gvfs-gphoto2-volume-monitor); run: "
		     "gio mount -s gphoto2  or: systemctl --user stop gvfs-gphoto2-volume-monitor",
		     g->name);
		return -EBUSY;
	case GP_ERROR_IO_USB_FIND:
		cr_msgf(err, errlen,
		     "camera %s is gone (PTP No Device: unplugged, switched off or asleep); "
		     "re-initialising it when it is back",
		     g->name);
		return -ENODEV;
	case GP_ERROR_TIMEOUT:
		cr_msgf(err, errlen, "camera %s does not answer (%s: asleep or out of reach?)", g->name, what);
		return -ETIMEDOUT;
	case GP_ERROR_MODEL_NOT_FOUND:
		cr_msgf(err, errlen,
		     "no camera found by libgphoto2 (is it on, connected and in PTP mode? check: gphoto2 "
		     "--auto-detect)");
		return -ENODEV;
	case GP_ERROR_NOT_SUPPORTED:
		cr_msgf(err, errlen,
		     "camera %s: %s is not supported by libgphoto2 for this model (%s); cameras with "
		     "'Liveview' at http://www.gphoto.org/proj/libgphoto2/support.php work",
		     g->name, what, detail);
		return -ENOTSUP;
	default:
		if (_gp_fatal(r))
			cr_msgf(err, errlen, "lost camera %s (%s: %s)", g->name, what, detail);
		else
			cr_msgf(err, errlen, "camera %s: %s failed: %s (gphoto2 error %d)", g->name, what, detail, r);
		return _gp_fatal(r) ? -EIO : -EPROTO;
	}
}

/* ---- camlibs kept loaded ---- */

/* gp_camera_init loads the camera's camlib and port library (libltdl
 * dlopen) and gp_camera_exit unloads them, so every reconnect of a camera
 * that sleeps or is unplugged maps them afresh, and what they allocated and
 * never freed points into code that is gone (LeakSanitizer then has to
 * re-read /proc/self/maps for every such frame). Marking them RTLD_NODELETE
 * once keeps them for the life of the process: reconnects skip the reload.
 * Under _gp_global. */
static int _pin_one(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	const char *n = info->dlpi_name;
	if (n && (strstr(n, "/libgphoto2/") || strstr(n, "/libgphoto2_port/")))
		dlopen(n, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE); /* the handle is never closed: that is the point */
	return 0;
}

static void _pin_camlibs(void)
{
	dl_iterate_phdr(_pin_one, NULL);
}

/* ---- detection ---- */

/* The camera-driver table, loaded once per process: loading it opens every
 * camlib (~60 libraries; seconds on a slow machine), too much per reconnect.
 * Under _gp_global. */
static CameraAbilitiesList *_gp_abilities(GPContext *ctx)
{
	static CameraAbilitiesList *al;
	if (!al && gp_abilities_list_new(&al) >= GP_OK && gp_abilities_list_load(al, ctx) < GP_OK) {
		gp_abilities_list_free(al);
		al = NULL;
	}
	return al;
}

/* Cameras on the ports now (USB changes: the port list is read each time).
 * Under _gp_global. */
static int _gp_detect_locked(GPContext *ctx, CameraList *list)
{
	CameraAbilitiesList *al = _gp_abilities(ctx);
	GPPortInfoList *il = NULL;
	CameraList *all = NULL;
	int r = GP_ERROR_NO_MEMORY;
	if (al && gp_port_info_list_new(&il) >= GP_OK && gp_port_info_list_load(il) >= GP_OK &&
	    gp_list_new(&all) >= GP_OK && (r = gp_abilities_list_detect(al, il, all, ctx)) >= GP_OK) {
		for (int i = 0; i < gp_list_count(all); i++) {
			const char *m = NULL, *p = NULL;
			gp_list_get_name(all, i, &m);
			gp_list_get_value(all, i, &p);
			if (m && p && strcmp(p, "usb:") != 0) /* "usb:" alone: generic, not a camera */
				gp_list_append(list, m, p);
		}
	}
	if (all)
		gp_list_free(all);
	if (il)
		gp_port_info_list_free(il);
	return r;
}

static int _gp_list(struct cr_gphoto2_camera_s *out, int max)
{
	GPContext *ctx = gp_context_new();
	CameraList *list = NULL;
	if (!ctx || gp_list_new(&list) < GP_OK) {
		if (ctx)
			gp_context_unref(ctx);
		return -ENOMEM;
	}
	pthread_mutex_lock(&_gp_global);
	int r = _gp_detect_locked(ctx, list), n = 0;
	pthread_mutex_unlock(&_gp_global);
	for (int i = 0; r >= GP_OK && i < gp_list_count(list) && n < max; i++) {
		const char *model = NULL, *port = NULL;
		gp_list_get_name(list, i, &model);
		gp_list_get_value(list, i, &port);
		cr_msgf(out[n].model, sizeof(out[n].model), "%s", model ? model : "?");
		cr_msgf(out[n].port, sizeof(out[n].port), "%s", port ? port : "?");
		n++;
	}
	gp_list_free(list);
	gp_context_unref(ctx);
	return r < GP_OK ? -EIO : n;
}

/* Chooses model and port from the configured device: "" = first detected,
 * a port path ("usb:001,004", "ptpip:192.168.1.1") or a model name. */
static int _gp_choose(struct _gp_s *g, char *model, size_t mlen, char *port, size_t plen)
{
	const char *dev = g->cfg.device;
	if (strncmp(dev, "ptpip:", 6) == 0) { /* cannot be probed: the generic PTP/IP driver */
		cr_msgf(model, mlen, "PTP/IP Camera");
		cr_msgf(port, plen, "%s", dev);
		return 0;
	}
	CameraList *list = NULL;
	if (gp_list_new(&list) < GP_OK)
		return -ENOMEM;
	int r = _gp_detect_locked(g->ctx, list); /* _gp_connect holds _gp_global */
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
		cr_msgf(seen + sl, sizeof(seen) - sl, "%s\"%s\" at %s", sl ? ", " : "", m, p);
		if (!dev[0] || (is_port && strcmp(dev, p) == 0) || (!is_port && strcasecmp(dev, m) == 0)) {
			found = i;
			cr_msgf(model, mlen, "%s", m);
			cr_msgf(port, plen, "%s", p);
		}
	}
	gp_list_free(list);
	if (found >= 0)
		return 0;
	if (!dev[0])
		cr_msgf(g->error, sizeof(g->error),
			 "no camera found by libgphoto2 (is it on, connected by USB and in PTP mode? check: "
			 "gphoto2 --auto-detect)");
	else
		cr_msgf(g->error, sizeof(g->error), "no camera %s \"%s\" (libgphoto2 sees: %s)",
			 is_port ? "at port" : "named", dev, seen[0] ? seen : "none");
	return -ENODEV;
}

static int _gp_connect(struct _gp_s *g)
{
	char model[128], port[128];
	int r = _gp_choose(g, model, sizeof(model), port, sizeof(port));
	if (r < 0)
		return r;
	cr_msgf(g->name, sizeof(g->name), "\"%s\" at %s", model, port);
	pthread_mutex_lock(&g->mbox_lock);
	cr_msgf(g->port, sizeof(g->port), "%s", port);
	pthread_mutex_unlock(&g->mbox_lock);

	CameraAbilitiesList *al = _gp_abilities(g->ctx);
	GPPortInfoList *il = NULL;
	CameraAbilities a;
	GPPortInfo pi;
	int m, p;
	r = GP_ERROR_LIBRARY;
	if (!al || (m = r = gp_abilities_list_lookup_model(al, model)) < GP_OK ||
	    (r = gp_abilities_list_get_abilities(al, m, &a)) < GP_OK ||
	    (r = gp_camera_set_abilities(g->cam, a)) < GP_OK || (r = gp_port_info_list_new(&il)) < GP_OK ||
	    (r = gp_port_info_list_load(il)) < GP_OK || (p = r = gp_port_info_list_lookup_path(il, port)) < GP_OK ||
	    (r = gp_port_info_list_get_info(il, p, &pi)) < GP_OK || (r = gp_camera_set_port_info(g->cam, pi)) < GP_OK) {
		if (il)
			gp_port_info_list_free(il);
		cr_msgf(g->error, sizeof(g->error), "camera %s: libgphoto2 has no driver or port for it: %s",
			 g->name, gp_result_as_string(r));
		return -ENODEV;
	}
	gp_port_info_list_free(il);
	g->gp_msg[0] = 0;
	r = gp_camera_init(g->cam, g->ctx);
	_pin_camlibs();
	if (r == GP_ERROR || r == GP_ERROR_CAMERA_ERROR) {
		cr_msgf(g->error, sizeof(g->error),
		     "camera %s refuses to open a session (%s); switch it off and on, and check it is in "
		     "PTP/remote mode, not mass storage",
		     g->name, g->gp_msg[0] ? g->gp_msg : gp_result_as_string(r));
		return -EPROTO;
	}
	return r < GP_OK ? _gp_fail(g, g->error, sizeof(g->error), "opening the session", r) : 0;
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

/* Sets one widget from text; the error in err. */
static int _set_widget(char *err, size_t errlen, CameraWidget *w, const char *name, const char *value)
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
			cr_msgf(allowed + l, sizeof(allowed) - l, "%s%s", l ? ", " : "", c);
		}
		if (!pick) {
			cr_msgf(err, errlen, "setting %s: \"%s\" is not one of the camera's choices (%s)",
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
			cr_msgf(err, errlen, "setting %s: \"%s\" is not a number in %g..%g", name,
				 value, lo, hi);
			return -EINVAL;
		}
		r = gp_widget_set_value(w, &v);
		break;
	}
	case GP_WIDGET_TOGGLE: {
		int v = strcmp(value, "1") == 0 || strcasecmp(value, "on") == 0 || strcasecmp(value, "true") == 0;
		if (!v && strcmp(value, "0") && strcasecmp(value, "off") && strcasecmp(value, "false")) {
			cr_msgf(err, errlen, "setting %s: \"%s\" is not on/off", name, value);
			return -EINVAL;
		}
		r = gp_widget_set_value(w, &v);
		break;
	}
	default:
		cr_msgf(err, errlen, "setting %s cannot be set from text", name);
		return -EINVAL;
	}
	return r < GP_OK ? -EINVAL : 0;
}

/* Sets a setting by name on a ready camera (under g->lock). */
static int _gp_set_locked(struct _gp_s *g, char *err, size_t errlen, const char *name, const char *value)
{
	CameraWidget *root = NULL;
	g->gp_msg[0] = 0;
	int r = gp_camera_get_config(g->cam, &root, g->ctx);
	if (r < GP_OK)
		return _gp_fail(g, err, errlen, "reading the settings", r);
	CameraWidget *w = _find_widget(root, name);
	if (!w && _name_eq(name, "aperture"))
		w = _find_widget(root, "f-number");
	int ro = 0;
	if (w)
		gp_widget_get_readonly(w, &ro);
	if (!w || ro) {
		cr_msgf(err, errlen, "camera %s has no %ssetting \"%s\" (list them: gphoto2 --list-config)", g->name,
		     w ? "writable " : "", name);
		r = -ENOENT;
	} else if ((r = _set_widget(err, errlen, w, name, value)) == 0) {
		const char *wn = name;
		gp_widget_get_name(w, &wn);
		int gr = gp_camera_set_single_config(g->cam, wn, w, g->ctx);
		if (gr < GP_OK)
			r = _gp_fail(g, err, errlen, "changing a setting", gr);
	}
	gp_widget_free(root);
	return r;
}

static int _gp_set_control(struct cr_source_s *src, const char *name, const char *value)
{
	struct _gp_s *g = src->priv;
	int r = -ENODEV;
	pthread_mutex_lock(&g->lock);
	if (g->cam_ready)
		r = _gp_set_locked(g, src->error, sizeof(src->error), name, value);
	else
		cr_msgf(src->error, sizeof(src->error), "camera %s is not connected (yet)", g->name);
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
	cr_msgf(c->name, sizeof(c->name), "%s", name);
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
		cr_msgf(c->text, sizeof(c->text), "%s", cur ? cur : "");
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
		cr_msgf(c->text, sizeof(c->text), "%g", v);
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
		cr_msgf(c->text, sizeof(c->text), "%s", v ? v : "");
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
	int r = -ENODEV;
	pthread_mutex_lock(&g->lock);
	if (g->cam_ready && (r = gp_camera_get_config(g->cam, &root, g->ctx)) < GP_OK)
		r = _gp_fail(g, src->error, sizeof(src->error), "reading the settings", r);
	pthread_mutex_unlock(&g->lock);
	if (r < 0)
		return r;
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
		cr_msgf(g->gp_msg, sizeof(g->gp_msg), "the live-view image is not a JPEG (%lu bytes)", size);
		r = GP_ERROR_CORRUPTED_DATA;
	}
	struct cr_frame_s *f = r >= GP_OK ? cr_frame_wrap(CR_PIXFMT_MJPEG, w, h, file, _gp_frame_release) : NULL;
	if (!f) {
		gp_file_unref(file);
		return r >= GP_OK ? GP_ERROR_NO_MEMORY : r;
	}
	f->n_planes = 1;
	f->data[0] = (uint8_t *)data; /* zero copy: the CameraFile's own buffer */
	f->size = size;
	f->ts_capture_ns = cr_now_ns();
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

/* Whether the camera reports its state through events that libgphoto2 queues
 * during previews: Canon bodies, whose live-view output device libgphoto2
 * names "output" (EOS: EVFOutputDevice). Under g->lock. */
static bool _gp_has_events(struct _gp_s *g)
{
	CameraWidget *w = NULL;
	if (gp_camera_get_single_config(g->cam, "output", &w, g->ctx) < GP_OK)
		return false;
	gp_widget_free(w);
	return true;
}

/* The camera's live-view output ("Off", "TFT", "PC", "TFT + PC", ...) into
 * out; "" when it cannot be read. Under g->lock. */
static void _gp_output(struct _gp_s *g, char *out, size_t len)
{
	CameraWidget *w = NULL;
	const char *v = NULL;
	out[0] = 0;
	if (gp_camera_get_single_config(g->cam, "output", &w, g->ctx) < GP_OK)
		return;
	if (gp_widget_get_value(w, &v) == GP_OK && v)
		cr_msgf(out, len, "%s", v);
	gp_widget_free(w);
}

/* Reads the events libgphoto2 queued (Canon EOS: GetEvent records fetched in
 * every preview and never read back otherwise), up to 32 a frame. This keeps
 * the queue from growing and libgphoto2's property cache current: when the
 * body ended live view by itself (EVF output device 0xd1b0 without "PC"),
 * the next preview sees it and switches live view on again, instead of
 * asking for frames that do not come (libgphoto2 retries "not ready" for
 * 3 s before it gives up). */
static void _gp_drain_events(struct _gp_s *g)
{
	bool evf = false;
	pthread_mutex_lock(&g->lock);
	if (g->events == 0)
		g->events = _gp_has_events(g) ? 1 : -1;
	for (int i = 0; g->events > 0 && i < 32; i++) {
		CameraEventType type = GP_EVENT_TIMEOUT;
		void *data = NULL;
		int r = gp_camera_wait_for_event(g->cam, 0, &type, &data, g->ctx);
		if (r >= GP_OK && type == GP_EVENT_UNKNOWN && data && strncmp(data, "PTP Property d1b0 ", 18) == 0)
			evf = true;
		free(data); /* a string, a CameraFilePath or NULL: all malloc'd for the caller */
		if (r < GP_OK || type == GP_EVENT_TIMEOUT)
			break;
	}
	char out[64] = "";
	if (evf)
		_gp_output(g, out, sizeof(out));
	pthread_mutex_unlock(&g->lock);
	if (out[0] && !strstr(out, "PC"))
		CR_LOG_W(g->who, "camera %s ended live view (camera output now \"%s\"); switching it on again", g->name,
			 out);
}

/* The camera's live-view rate over windows of 2 s of streaming. A pause of
 * over 1 s (live view ended by the body and restarted, the mirror moving)
 * starts a new window instead of counting in the rate: the stream's quiet
 * time before placeholders is 3 frame periods, and a rate pulled down by the
 * last pause would hold back the placeholders of the next (the EOS body's
 * 1-3 s live-view drops showed none under emulation). */
static void _gp_measure_rate(struct cr_source_s *src, struct _gp_s *g, int64_t now)
{
	if (g->rate_n > 0 && now - g->rate_last > 1000000000LL)
		g->rate_n = 0;
	g->rate_last = now;
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

static void _gp_unref(struct _gp_s *g)
{
	if (atomic_fetch_sub(&g->refs, 1) != 1)
		return;
	cr_frame_unref(g->mbox);
	if (g->ctx)
		gp_context_unref(g->ctx);
	if (g->tj)
		tjDestroy(g->tj);
	pthread_mutex_destroy(&g->lock);
	pthread_mutex_destroy(&g->mbox_lock);
	pthread_cond_destroy(&g->mbox_cond);
	free(g);
}

/* Ends the session as seen by read(): state < 0 with a message. */
static void _gp_end(struct _gp_s *g, int err)
{
	pthread_mutex_lock(&g->mbox_lock);
	if (g->state == 0)
		g->state = err < 0 ? err : -EIO;
	pthread_cond_broadcast(&g->mbox_cond);
	pthread_mutex_unlock(&g->mbox_lock);
}

static void _gp_post(struct _gp_s *g, struct cr_frame_s *f)
{
	pthread_mutex_lock(&g->mbox_lock);
	struct cr_frame_s *old = g->mbox;
	g->mbox = f;
	pthread_cond_broadcast(&g->mbox_cond);
	pthread_mutex_unlock(&g->mbox_lock);
	cr_frame_unref(old); /* not read in time: the newest wins */
}

/* One error from a preview: decides between restarting live view (the
 * camera answered) and ending the session (it did not). Returns 0 to go on. */
static int _gp_preview_failed(struct _gp_s *g, int r, char *err, size_t errlen)
{
	if (_gp_fatal(r)) {
		g->dead = true;
		return _gp_fail(g, err, errlen, "live view", r);
	}
	char why[256];
	cr_msgf(why, sizeof(why), "%s", g->gp_msg[0] ? g->gp_msg : gp_result_as_string(r));
	if (++g->lv_restarts > _LV_RESTARTS_MAX) {
		cr_msgf(err, errlen, "camera %s: live view failed %d times in a row (%s); re-initialising the camera",
		     g->name, g->lv_restarts - 1, why);
		return -EIO;
	}
	CR_LOG_W(g->who, "camera %s: live view failed (%s); restarting live view", g->name, why);
	int rr = _gp_restart_liveview(g);
	if (rr < GP_OK && rr != GP_ERROR_BAD_PARAMETERS && rr != GP_ERROR_NOT_SUPPORTED) {
		/* Not even that answers: the connection is gone (a PTP/IP hang-up
		 * reads as a general error first). */
		g->dead = true;
		return _gp_fail(g, err, errlen, "restarting live view", rr);
	}
	return 0;
}

static void *_gp_worker(void *arg)
{
	struct _gp_s *g = arg;
	char err[256] = "";
	pthread_mutex_lock(&_gp_global);
	int r = atomic_load(&g->stop) ? -ECANCELED : _gp_connect(g);
	pthread_mutex_unlock(&_gp_global);
	if (r < 0) {
		g->dead = r == -ETIMEDOUT || r == -EIO;
		_gp_end(g, r); /* g->error was set by _gp_connect */
		goto out;
	}
	pthread_mutex_lock(&g->lock);
	g->cam_ready = true;
	for (int i = 0; i < g->cfg.n_controls; i++) {
		const struct cr_control_cfg_s *c = &g->cfg.controls[i];
		if (_gp_set_locked(g, err, sizeof(err), c->name, c->value) < 0)
			CR_LOG_W(g->who, "%s", err);
	}
	pthread_mutex_unlock(&g->lock);
	while (!atomic_load(&g->stop)) {
		struct cr_frame_s *f = NULL;
		r = _gp_capture(g, &f); /* blocks for about one frame interval */
		if (r >= GP_OK) {
			g->lv_restarts = 0;
			_gp_post(g, f);
			_gp_drain_events(g);
			continue;
		}
		if ((r = _gp_preview_failed(g, r, err, sizeof(err))) < 0) {
			pthread_mutex_lock(&g->mbox_lock);
			cr_msgf(g->error, sizeof(g->error), "%s", err);
			pthread_mutex_unlock(&g->mbox_lock);
			_gp_end(g, r);
			break;
		}
	}
out:
	pthread_mutex_lock(&g->lock);
	g->cam_ready = false;
	pthread_mutex_unlock(&g->lock);
	/* A camera that stopped answering makes this wait for timeouts; we
	 * are on the worker, the stream goes on with placeholders. */
	pthread_mutex_lock(&_gp_global);
	if (g->cam) {
		gp_camera_exit(g->cam, g->ctx);
		gp_camera_free(g->cam);
		g->cam = NULL;
	}
	pthread_mutex_unlock(&_gp_global);
	pthread_mutex_lock(&g->mbox_lock);
	g->done = true;
	pthread_cond_broadcast(&g->mbox_cond);
	pthread_mutex_unlock(&g->mbox_lock);
	_gp_unref(g);
	return NULL;
}

static void _gp_close(struct cr_source_s *src)
{
	struct _gp_s *g = src->priv;
	if (!g)
		return;
	src->priv = NULL;
	atomic_store(&g->stop, true);
	/* A camera that answers closes its session in well under a second: wait,
	 * so that nothing is left running at exit. One that does not answer
	 * would hold the stream for its timeouts: let the worker finish alone. */
	struct timespec until = cr_timespec_ns(cr_deadline_ns(2000));
	pthread_mutex_lock(&g->mbox_lock);
	while (!g->done && !atomic_load(&g->dead) && pthread_cond_timedwait(&g->mbox_cond, &g->mbox_lock, &until) == 0) {
	}
	pthread_mutex_unlock(&g->mbox_lock);
	_gp_unref(g); /* the worker ends the session and frees the rest */
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
	atomic_init(&g->refs, 1);
	g->done = true; /* until a worker runs */
	pthread_mutex_init(&g->lock, NULL);
	pthread_mutex_init(&g->mbox_lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&g->mbox_cond, &ca);
	pthread_condattr_destroy(&ca);
	g->cfg = *src->cfg;
	cr_msgf(g->who, sizeof(g->who), "%s", src->stream_name ? src->stream_name : "gphoto2");
	cr_msgf(g->name, sizeof(g->name), "%s", g->cfg.device[0] ? g->cfg.device : "(first found)");
	src->priv = g;
	g->ctx = gp_context_new();
	g->tj = tjInitDecompress();
	pthread_t t;
	pthread_attr_t attr;
	if (!g->ctx || !g->tj || gp_camera_new(&g->cam) < GP_OK || pthread_attr_init(&attr) != 0) {
		cr_msgf(src->error, sizeof(src->error), "out of memory");
		_gp_close(src);
		return -ENOMEM;
	}
	gp_context_set_error_func(g->ctx, _on_ctx_error, g);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	atomic_fetch_add(&g->refs, 1);
	g->done = false;
	if (pthread_create(&t, &attr, _gp_worker, g) != 0) {
		g->done = true;
		atomic_fetch_sub(&g->refs, 1);
		pthread_attr_destroy(&attr);
		cr_msgf(src->error, sizeof(src->error), "cannot start the camera thread");
		_gp_close(src);
		return -EAGAIN;
	}
	pthread_attr_destroy(&attr);

	/* Wait a little for the first frame (it gives the size: live view has
	 * one size per body) or a quick failure (no camera, refused); a slow
	 * camera goes on in the background while read() feeds the core. */
	struct timespec until = cr_timespec_ns(cr_deadline_ns(500));
	pthread_mutex_lock(&g->mbox_lock);
	while (!g->mbox && g->state == 0 && pthread_cond_timedwait(&g->mbox_cond, &g->mbox_lock, &until) == 0) {
	}
	int st = g->state;
	if (g->mbox) {
		src->width = g->mbox->width;
		src->height = g->mbox->height;
	}
	cr_msgf(src->device_path, sizeof(src->device_path), "%s", g->port[0] ? g->port : g->cfg.device);
	if (st < 0 && !g->mbox)
		cr_msgf(src->error, sizeof(src->error), "%s", g->error);
	pthread_mutex_unlock(&g->mbox_lock);
	if (st < 0 && src->width == 0) {
		_gp_close(src);
		return st;
	}
	src->format = CR_PIXFMT_MJPEG;
	src->note[0] = 0;
	if ((g->cfg.width && g->cfg.width != src->width) || (g->cfg.height && g->cfg.height != src->height))
		cr_msgf(src->note, sizeof(src->note), "camera %s gives live view at %dx%d, not the configured %dx%d",
		     g->name, src->width, src->height, g->cfg.width, g->cfg.height);
	g->rate_n = 0;
	return 0;
}

static int _gp_read(struct cr_source_s *src, struct cr_frame_s **out, int timeout_ms)
{
	struct _gp_s *g = src->priv;
	struct timespec until = cr_timespec_ns(cr_deadline_ns(timeout_ms));
	pthread_mutex_lock(&g->mbox_lock);
	while (!g->mbox && g->state == 0 && pthread_cond_timedwait(&g->mbox_cond, &g->mbox_lock, &until) == 0) {
	}
	struct cr_frame_s *f = g->mbox;
	g->mbox = NULL;
	int st = g->state;
	if (!f && st < 0)
		cr_msgf(src->error, sizeof(src->error), "%s", g->error);
	pthread_mutex_unlock(&g->mbox_lock);
	if (!f)
		return st;
	_gp_measure_rate(src, g, f->ts_capture_ns);
	*out = f;
	if (f->width != src->width || f->height != src->height) {
		src->width = f->width;
		src->height = f->height;
		return 1;
	}
	return 0;
}

CR_MODULE_EXPORT const struct cr_gphoto2_module_s cr_gphoto2_module = {.list = _gp_list};

CR_MODULE_EXPORT const struct cr_source_ops_s cr_source_gphoto2 = {
	.name = "gphoto2",
	/* the camera's live view: one JPEG per frame */
	.caps = &(const struct cr_source_caps_s){.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_MJPEG, CR_PIXFMT_NONE},
						 .hardware = true},
	.open = _gp_open,
	.read = _gp_read,
	.close = _gp_close,
	.list_controls = _gp_list_controls,
	.set_control = _gp_set_control,
};

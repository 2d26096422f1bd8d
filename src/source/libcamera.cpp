// libcamera capture: the project's only C++, kept to what needs libcamera's
// C++ API (camera, configuration, buffers, requests, controls) behind the C
// interface in libcamera_priv.h; frames and the ops table are C
// (libcamera.c). Built with -fno-exceptions (libcamera throws none);
// allocations use std::nothrow.
#include "source/libcamera_priv.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <new>
#include <vector>

#include <libcamera/libcamera.h>

using namespace libcamera;

namespace {

// libcamera allows one CameraManager per process: shared by every source.
std::mutex g_cm_lock;
CameraManager *g_cm;
int g_cm_users;
// Set when a manager found no camera and no IPA module was installed: later
// opens fail at once with that message instead of starting libcamera again
// (which logs its "No IPA found" lines at every reconnect).
bool g_no_ipa;

// Counts ipa_*.so files in DIR.
int ipa_count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	int n = 0;
	while (struct dirent *e = readdir(d)) {
		size_t l = strlen(e->d_name);
		if (!strncmp(e->d_name, "ipa_", 4) && l > 3 && !strcmp(e->d_name + l - 3, ".so"))
			n++;
	}
	closedir(d);
	return n;
}

// The IPA modules (image processing algorithms) libcamera can load: from
// LIBCAMERA_IPA_MODULE_PATH and from its install directory, which is
// "libcamera/" beside the libcamera library itself (Debian: package
// libcamera-ipa, only suggested by libcamera0.0.3). Writes that directory.
int ipa_count(char *dir, size_t dirlen)
{
	int n = 0;
	if (const char *env = getenv("LIBCAMERA_IPA_MODULE_PATH")) {
		std::string paths(env);
		size_t a = 0;
		while (a <= paths.size()) {
			size_t b = paths.find(':', a);
			if (b == std::string::npos)
				b = paths.size();
			n += ipa_count_dir(paths.substr(a, b - a).c_str());
			a = b + 1;
		}
	}
	Dl_info info;
	snprintf(dir, dirlen, "the libcamera IPA directory");
	if (dladdr((void *)&libcamera::logSetLevel, &info) && info.dli_fname) {
		char *lib = realpath(info.dli_fname, nullptr);
		const char *path = lib ? lib : info.dli_fname;
		if (const char *slash = strrchr(path, '/')) {
			snprintf(dir, dirlen, "%.*s/libcamera", (int)(slash - path), path);
			n += ipa_count_dir(dir);
		}
		free(lib);
	}
	return n;
}

void no_ipa_message(char *err, size_t errlen)
{
	char dir[256];
	ipa_count(dir, sizeof(dir));
	snprintf(err, errlen,
		 "libcamera found no camera it can use and no IPA modules are installed (none in %s): "
		 "install the libcamera-ipa package (apt install libcamera-ipa)",
		 dir);
}

CameraManager *cm_get(char *err, size_t errlen)
{
	std::lock_guard<std::mutex> g(g_cm_lock);
	if (!g_cm && g_no_ipa) {
		char dir[256];
		if (ipa_count(dir, sizeof(dir)) == 0) {
			no_ipa_message(err, errlen);
			return nullptr;
		}
		g_no_ipa = false; // installed meanwhile: try again
	}
	if (!g_cm) {
		// libcamera logs INFO lines at every start (each reconnect): only
		// warnings, unless the user chose levels. Its logger reads the
		// variable once, at its first message (logSetLevel takes no "*").
		setenv("LIBCAMERA_LOG_LEVELS", "*:WARN", 0);
		g_cm = new (std::nothrow) CameraManager();
		int r = g_cm ? g_cm->start() : -ENOMEM;
		if (r < 0) {
			delete g_cm;
			g_cm = nullptr;
			snprintf(err, errlen, "libcamera: cannot start the camera manager: %s", strerror(-r));
			return nullptr;
		}
	}
	g_cm_users++;
	return g_cm;
}

void cm_put()
{
	std::lock_guard<std::mutex> g(g_cm_lock);
	if (--g_cm_users == 0) {
		g_cm->stop();
		delete g_cm;
		g_cm = nullptr;
	}
}

// "ExposureTime" -> "exposure_time".
void api_name(const std::string &in, char *out, size_t n)
{
	size_t o = 0;
	for (size_t i = 0; i < in.size() && o + 2 < n; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z') {
			if (i > 0 && !(in[i - 1] >= 'A' && in[i - 1] <= 'Z'))
				out[o++] = '_';
			c = (char)(c - 'A' + 'a');
		}
		out[o++] = c;
	}
	out[o] = 0;
}

} // namespace

struct cr_lc_s {
	std::shared_ptr<Camera> cam;
	std::unique_ptr<CameraConfiguration> config;
	std::unique_ptr<FrameBufferAllocator> alloc;
	Stream *stream = nullptr;
	std::vector<std::unique_ptr<Request>> reqs;
	std::mutex lock;
	std::vector<Request *> done;             // completed, not yet read
	ControlList pending{controls::controls}; // set_control values for the next request
	int efd = -1;
	bool running = false, acquired = false;

	void complete(Request *r)
	{
		std::lock_guard<std::mutex> g(lock);
		done.push_back(r);
		uint64_t one = 1;
		if (write(efd, &one, sizeof(one)) < 0) {
			// cannot overflow with a handful of buffers
		}
	}
};

static void requeue_locked(cr_lc_s *lc, Request *r)
{
	if (!lc->running)
		return;
	r->reuse(Request::ReuseBuffers);
	if (!lc->pending.empty()) {
		r->controls().merge(lc->pending);
		lc->pending.clear();
	}
	lc->cam->queueRequest(r);
}

extern "C" int cr_lc_open(const char *device, int w, int h, uint32_t fourcc, cr_lc_s **out,
			  cr_lc_info_s *info, char *err, size_t errlen)
{
	memset(info, 0, sizeof(*info));
	CameraManager *cm = cm_get(err, errlen);
	if (!cm)
		return -EIO;
	cr_lc_s *lc = new (std::nothrow) cr_lc_s();
	if (!lc) {
		cm_put();
		return -ENOMEM;
	}
	*out = lc;
	auto cams = cm->cameras();
	char *end = nullptr;
	long idx = strtol(device, &end, 10);
	if (*device && *end == 0 && idx >= 0 && (size_t)idx < cams.size())
		lc->cam = cams[(size_t)idx];
	else
		lc->cam = cm->get(device);
	if (!lc->cam && cams.empty()) {
		char dir[256];
		if (ipa_count(dir, sizeof(dir)) == 0) {
			std::lock_guard<std::mutex> g(g_cm_lock);
			g_no_ipa = true;
			no_ipa_message(err, errlen);
			return -ENODEV;
		}
	}
	if (!lc->cam) {
		std::string ids;
		for (auto &c : cams)
			ids += (ids.empty() ? "" : ", ") + c->id();
		snprintf(err, errlen, "libcamera: no camera \"%s\" (%zu found%s%.150s)", device, cams.size(),
			 cams.empty() ? "; is the camera's driver loaded?" : ": ", ids.c_str());
		return -ENODEV;
	}
	snprintf(info->id, sizeof(info->id), "%s", lc->cam->id().c_str());
	if ((lc->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
		return -errno;
	if (lc->cam->acquire() < 0) {
		snprintf(err, errlen, "camera %s is in use by another program", info->id);
		return -EBUSY;
	}
	lc->acquired = true;
	lc->config = lc->cam->generateConfiguration({StreamRole::VideoRecording});
	if (!lc->config || lc->config->empty()) {
		snprintf(err, errlen, "camera %s has no video recording configuration", info->id);
		return -EINVAL;
	}
	StreamConfiguration &sc = lc->config->at(0);
	if (w > 0 && h > 0)
		sc.size = Size((unsigned)w, (unsigned)h);
	if (fourcc)
		sc.pixelFormat = PixelFormat(fourcc);
	std::string asked = sc.toString();
	if (lc->config->validate() == CameraConfiguration::Invalid) {
		snprintf(err, errlen, "camera %s refuses %s", info->id, asked.c_str());
		return -EINVAL;
	}
	if (sc.toString() != asked)
		snprintf(info->note, sizeof(info->note), "camera %s: asked for %s, it gives %s", info->id,
			 asked.c_str(), sc.toString().c_str());
	if (lc->cam->configure(lc->config.get()) < 0) {
		snprintf(err, errlen, "camera %s: configuring %s failed", info->id, sc.toString().c_str());
		return -EIO;
	}
	lc->stream = sc.stream();
	lc->alloc = std::unique_ptr<FrameBufferAllocator>(new (std::nothrow) FrameBufferAllocator(lc->cam));
	if (!lc->alloc || lc->alloc->allocate(lc->stream) < 0) {
		snprintf(err, errlen, "camera %s: cannot allocate buffers", info->id);
		return -ENOMEM;
	}
	for (const std::unique_ptr<FrameBuffer> &fb : lc->alloc->buffers(lc->stream)) {
		std::unique_ptr<Request> r = lc->cam->createRequest(lc->reqs.size());
		if (!r || r->addBuffer(lc->stream, fb.get()) < 0) {
			snprintf(err, errlen, "camera %s: cannot create requests", info->id);
			return -ENOMEM;
		}
		lc->reqs.push_back(std::move(r));
	}
	info->width = (int)sc.size.width;
	info->height = (int)sc.size.height;
	info->fourcc = sc.pixelFormat.fourcc();
	info->stride = (int)sc.stride;
	info->n_buffers = (int)lc->reqs.size();
	lc->cam->requestCompleted.connect(lc, &cr_lc_s::complete);
	return 0;
}

extern "C" int cr_lc_buffer(cr_lc_s *lc, int index, cr_lc_plane_s planes[3])
{
	const FrameBuffer *fb = lc->reqs[(size_t)index]->buffers().begin()->second;
	int n = 0;
	for (const FrameBuffer::Plane &p : fb->planes()) {
		if (n == 3)
			break;
		planes[n++] = {p.fd.get(), p.offset, p.length};
	}
	return n;
}

extern "C" int cr_lc_start(cr_lc_s *lc, int fps, char *err, size_t errlen)
{
	ControlList ctrls(controls::controls);
	ctrls.merge(lc->pending);
	lc->pending.clear();
	if (fps > 0 && lc->cam->controls().count(&controls::FrameDurationLimits)) {
		int64_t d = 1000000 / fps;
		ctrls.set(controls::FrameDurationLimits, Span<const int64_t, 2>({d, d}));
	}
	if (lc->cam->start(&ctrls) < 0) {
		snprintf(err, errlen, "camera %s: start failed", lc->cam->id().c_str());
		return -EIO;
	}
	std::lock_guard<std::mutex> g(lc->lock);
	lc->running = true;
	for (auto &r : lc->reqs)
		if (lc->cam->queueRequest(r.get()) < 0) {
			snprintf(err, errlen, "camera %s: cannot queue requests", lc->cam->id().c_str());
			return -EIO;
		}
	return 0;
}

extern "C" int cr_lc_wait(cr_lc_s *lc, int timeout_ms, int64_t *ts_ns, uint32_t *bytesused)
{
	struct pollfd pfd = {lc->efd, POLLIN, 0};
	int r = poll(&pfd, 1, timeout_ms);
	if (r < 0)
		return errno == EINTR ? -1 : -errno;
	if (r == 0)
		return -1;
	uint64_t n;
	if (read(lc->efd, &n, sizeof(n)) < 0) {
		// already drained by an earlier call
	}
	std::lock_guard<std::mutex> g(lc->lock);
	int index = -1;
	for (size_t i = 0; i < lc->done.size(); i++) {
		Request *req = lc->done[i];
		const FrameBuffer *fb = req->buffers().begin()->second;
		bool ok = req->status() == Request::RequestComplete &&
			  fb->metadata().status == FrameMetadata::FrameSuccess;
		if (i + 1 < lc->done.size() || !ok) {
			requeue_locked(lc, req);
			continue;
		}
		index = (int)req->cookie();
		*ts_ns = (int64_t)fb->metadata().timestamp;
		*bytesused = fb->metadata().planes()[0].bytesused;
	}
	lc->done.clear();
	return index;
}

extern "C" void cr_lc_requeue(cr_lc_s *lc, int index)
{
	std::lock_guard<std::mutex> g(lc->lock);
	requeue_locked(lc, lc->reqs[(size_t)index].get());
}

extern "C" void cr_lc_stop(cr_lc_s *lc)
{
	{
		std::lock_guard<std::mutex> g(lc->lock);
		if (!lc->running)
			return;
		lc->running = false;
	}
	lc->cam->stop(); // completes the queued requests as cancelled
	std::lock_guard<std::mutex> g(lc->lock);
	lc->done.clear();
}

extern "C" void cr_lc_destroy(cr_lc_s *lc)
{
	if (!lc)
		return;
	cr_lc_stop(lc);
	if (lc->cam) {
		lc->cam->requestCompleted.disconnect(lc);
		lc->reqs.clear();
		lc->alloc.reset();
		if (lc->acquired)
			lc->cam->release();
		lc->cam.reset();
	}
	if (lc->efd >= 0)
		close(lc->efd);
	delete lc;
	cm_put();
}

extern "C" int cr_lc_control(cr_lc_s *lc, int i, char name[64], cr_lc_ctrl_type_e *type, int64_t *min,
			     int64_t *max, int64_t *def, char text[64])
{
	int k = 0;
	for (const auto &c : lc->cam->controls()) {
		if (k++ != i)
			continue;
		const ControlInfo &info = c.second;
		api_name(c.first->name(), name, 64);
		*min = *max = *def = 0;
		text[0] = 0;
		switch (c.first->type()) {
		case ControlTypeBool:
			*type = CR_LC_BOOL;
			*max = 1;
			*def = info.def().isNone() ? 0 : info.def().get<bool>();
			break;
		case ControlTypeInteger32:
			*type = CR_LC_INT;
			*min = info.min().get<int32_t>();
			*max = info.max().get<int32_t>();
			*def = info.def().isNone() ? *min : info.def().get<int32_t>();
			break;
		case ControlTypeInteger64:
			*type = CR_LC_INT;
			*min = info.min().get<int64_t>();
			*max = info.max().get<int64_t>();
			*def = info.def().isNone() ? *min : info.def().get<int64_t>();
			break;
		case ControlTypeFloat:
			*type = CR_LC_FLOAT;
			snprintf(text, 64, "%s", info.toString().c_str());
			break;
		default:
			*type = CR_LC_OTHER;
			break;
		}
		return 0;
	}
	return -ENOENT;
}

extern "C" int cr_lc_set_control(cr_lc_s *lc, const char *name, const char *value, char *err, size_t errlen)
{
	const ControlId *id = nullptr;
	char buf[64];
	for (const auto &c : lc->cam->controls()) {
		api_name(c.first->name(), buf, sizeof(buf));
		if (strcasecmp(buf, name) == 0 || strcasecmp(c.first->name().c_str(), name) == 0)
			id = c.first;
	}
	if (!id) {
		snprintf(err, errlen, "camera %s has no control \"%s\" (GET /api/streams/NAME/controls lists them)",
			 lc->cam->id().c_str(), name);
		return -ENOENT;
	}
	char *end = nullptr;
	ControlValue v;
	switch (id->type()) {
	case ControlTypeBool:
		if (strcmp(value, "true") && strcmp(value, "false") && strcmp(value, "1") && strcmp(value, "0")) {
			snprintf(err, errlen, "control %s: \"%s\" is not true or false", name, value);
			return -EINVAL;
		}
		v = ControlValue(strcmp(value, "true") == 0 || strcmp(value, "1") == 0);
		end = (char *)"";
		break;
	case ControlTypeInteger32:
		v = ControlValue((int32_t)strtol(value, &end, 0));
		break;
	case ControlTypeInteger64:
		v = ControlValue((int64_t)strtoll(value, &end, 0));
		break;
	case ControlTypeFloat:
		v = ControlValue(strtof(value, &end));
		break;
	default:
		snprintf(err, errlen, "control %s: this type cannot be set from text", name);
		return -ENOTSUP;
	}
	if (end == value || *end) {
		snprintf(err, errlen, "control %s: \"%s\" is not a number", name, value);
		return -EINVAL;
	}
	std::lock_guard<std::mutex> g(lc->lock);
	lc->pending.set(id->id(), v);
	return 0;
}

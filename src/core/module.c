/* Loading backend modules (core/module.h). */
#include "core/module.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/hostport.h"
#include "cr_build.h"

static const struct cr_module_host_s _host = {
	.size = sizeof(struct cr_module_host_s),
	.version = CR_VERSION,
	.packet_new = cr_packet_new,
	.packet_unref = cr_packet_unref,
	.frame_new = cr_frame_new,
	.frame_wrap = cr_frame_wrap,
	.frame_reuse = cr_frame_reuse,
	.frame_free = cr_frame_free,
	.frame_unref = cr_frame_unref,
	.pool_new = cr_pool_new,
	.pool_get = cr_pool_get,
	.pool_destroy = cr_pool_destroy,
	.pixfmt_name = cr_pixfmt_name,
	.pixfmt_planes = cr_pixfmt_planes,
	.source_caps_str = cr_source_caps_str,
	.audio_codec_name = cr_audio_codec_name,
	.url_shown = cr_url_shown,
	.log = cr_log,
	.stream_name = cr_stream_name,
	.stream_stats = cr_stream_stats,
	.stream_subscribe = cr_stream_subscribe,
	.stream_unsubscribe = cr_stream_unsubscribe,
	.sub_pop = cr_sub_pop,
	.sub_sent = cr_sub_sent,
	.sub_drop = cr_sub_drop,
	.converter_new = cr_converter_new,
	.converter_run = cr_converter_run,
	.converter_destroy = cr_converter_destroy,
};

#define _MODULES_MAX 16
static struct {
	char name[32];
	void *handle;
} _loaded[_MODULES_MAX];
static int _n_loaded;
static pthread_mutex_t _lock = PTHREAD_MUTEX_INITIALIZER;

/* The directory of the file this code runs from: the program, or
 * libcamrelay.so when a library caller loads the module. "" if unknown;
 * *lib tells which. */
static void _own_dir(char *out, size_t size, bool *lib)
{
	char path[PATH_MAX] = "";
	Dl_info info;
	/* dladdr gives a shared library's path as it was loaded, but the main
	 * program's as it was started (argv[0], maybe relative): /proc/self/exe. */
	const char *base = NULL;
	if (dladdr((const void *)_own_dir, &info) && info.dli_fname)
		base = strrchr(info.dli_fname, '/');
	*lib = base && strstr(base, ".so");
	if (*lib)
		snprintf(path, sizeof(path), "%s", info.dli_fname);
	else {
		ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
		path[n > 0 ? n : 0] = '\0';
	}
	char *slash = strrchr(path, '/');
	if (slash)
		*slash = '\0';
	snprintf(out, size, "%s", slash ? path : "");
}

/* The directories looked in, in order (see cr_module_symbol); how many. */
static int _dirs(char dirs[3][PATH_MAX])
{
	int n = 0;
	const char *env = getenv("CAMRELAY_MODULE_DIR");
	if (env && *env)
		snprintf(dirs[n++], sizeof(dirs[0]), "%s", env);
	else {
		/* A build directory has the modules beside camrelay and
		 * libcamrelay.so; an installed library (also one installed under
		 * another prefix than it was built for) in LIBDIR/camrelay. */
		bool lib = false;
		char own[PATH_MAX];
		_own_dir(own, sizeof(own), &lib);
		/* An installed program (in BINDIR) has none beside it. */
		if (own[0] && (lib || strcmp(own, CR_BIN_DIR) != 0))
			snprintf(dirs[n++], sizeof(dirs[0]), "%s", own);
		if (own[0] && lib)
			snprintf(dirs[n++], sizeof(dirs[0]), "%.*s/camrelay", PATH_MAX - 16, own);
		if (n == 0 || strcmp(dirs[n - 1], CR_MODULE_DIR) != 0)
			snprintf(dirs[n++], sizeof(dirs[0]), "%s", CR_MODULE_DIR);
	}
	return n;
}

/* The first camrelay-MODULE.so in the directories into path (1), else the
 * directories tried into tried (0). */
static int _find(const char *module, char *path, size_t size, char *tried, size_t tsize)
{
	char dirs[3][PATH_MAX];
	int n = _dirs(dirs);
	tried[0] = '\0';
	for (int i = 0; i < n; i++) {
		snprintf(path, size, "%s/camrelay-%s.so", dirs[i], module);
		if (access(path, F_OK) == 0)
			return 1;
		size_t o = strlen(tried);
		snprintf(tried + o, tsize - o, "%s%s", o ? ", " : "", dirs[i]);
	}
	return 0;
}

int cr_module_path(const char *module, char *path, size_t size)
{
	char tried[3 * PATH_MAX + 16];
	if (_find(module, path, size, tried, sizeof(tried)))
		return 1;
	snprintf(path, size, "%s", tried);
	return 0;
}

static void *_open(const char *module, const char *package, char *err, size_t errlen)
{
	char path[PATH_MAX + 64], tried[3 * PATH_MAX + 16];
	if (_find(module, path, sizeof(path), tried, sizeof(tried))) {
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (!h) {
			snprintf(err, errlen, "cannot load %s: %s (reinstall %s)", path, dlerror(), package);
			return NULL;
		}
		int (*init)(const struct cr_module_host_s *) = (int (*)(const struct cr_module_host_s *))dlsym(
			h, "cr_module_init");
		if (!init || init(&_host) < 0) {
			snprintf(err, errlen, "%s is not a module of this camrelay (%s) (reinstall %s)", path,
				 CR_VERSION, package);
			dlclose(h);
			return NULL;
		}
		return h;
	}
	snprintf(err, errlen, "the %s module is not installed: no camrelay-%s.so in %s (install the package %s)",
		 module, module, tried, package);
	return NULL;
}

const void *cr_module_symbol(const char *module, const char *symbol, const char *package, char *err,
			     size_t errlen)
{
	char why[1024] = "";
	void *h = NULL;
	pthread_mutex_lock(&_lock);
	for (int i = 0; i < _n_loaded && !h; i++)
		if (strcmp(_loaded[i].name, module) == 0)
			h = _loaded[i].handle;
	if (!h && _n_loaded < _MODULES_MAX && (h = _open(module, package, why, sizeof(why)))) {
		snprintf(_loaded[_n_loaded].name, sizeof(_loaded[0].name), "%s", module);
		_loaded[_n_loaded++].handle = h;
	}
	pthread_mutex_unlock(&_lock);
	const void *sym = h ? dlsym(h, symbol) : NULL;
	if (h && !sym)
		snprintf(why, sizeof(why), "module camrelay-%s.so has no %s (reinstall %s)", module, symbol, package);
	if (!sym && err && errlen)
		snprintf(err, errlen, "%s", why);
	return sym;
}

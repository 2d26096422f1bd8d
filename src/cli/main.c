/* camrelay: command line entry. Exit codes: 0 ok, 1 run-time failure,
 * 2 usage error, 3 configuration error. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/reload.h"
#include "cli/service.h"
#include "core/config.h"
#include "core/log.h"
#include "core/module.h"
#include "core/stream.h"
#include "cr_build.h"
#include "encode/encoder.h"
#include "net/datachannel.h"
#include "net/http.h"
#include "net/whep.h"
#include "sink/sink.h"
#include "source/source.h"

static void _print_version(void)
{
	printf("camrelay %s\n", CR_VERSION);
	printf("sources:");
	for (const struct cr_source_ops_s *const *p = cr_source_backends; *p; p++) {
		char caps[256];
		cr_source_caps_str((*p)->caps, caps, sizeof(caps));
		printf(" %s(%s)", (*p)->name, caps);
	}
	printf("\nencoders:");
	for (const struct cr_encoder_ops_s *const *p = cr_encoder_backends; *p; p++) {
		if (!(*p)->open) /* declared, not built */
			continue;
		printf(" %s(", (*p)->name);
		for (const enum cr_codec_e *c = (*p)->codecs; *c; c++)
			printf("%s%s", c == (*p)->codecs ? "" : ",", cr_codec_name(*c));
		printf(")");
	}
	printf("\nsinks:");
	for (const struct cr_sink_ops_s *const *p = cr_sink_backends; *p; p++) {
		char caps[160];
		cr_sink_caps_str((*p)->caps, caps, sizeof(caps));
		printf(" %s(%s)", (*p)->name, caps);
	}
	printf("\ndatachannel: %s\n", cr_dc_available ? "yes (libusrsctp)" : "no");
	/* The backends above that load from a module (core/module.h) when a
	 * config uses them: found where, or the package that installs them. */
	printf("modules:");
	char list[] = CR_MODULES;
	for (char *save = NULL, *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save)) {
		char path[4200];
		if (cr_module_path(m, path, sizeof(path)))
			printf(" %s(%s)", m, path);
		else
			printf(" %s(not installed: package %s%s)", m, strcmp(m, "crypto") == 0 ? "camrelay" : "camrelay-",
			       strcmp(m, "crypto") == 0 ? "" : m); /* crypto ships in camrelay itself */
	}
	printf("\n");
}

static void _usage(FILE *f)
{
	fprintf(f, "Usage: camrelay [--version] [--help] COMMAND [ARGS]\n"
		   "\n"
		   "Commands:\n"
		   "  serve [-c FILE]         run the streams of FILE (default: the built-in test stream)\n"
		   "  check-config FILE       validate FILE and exit\n");
	for (const struct cr_command_s *const *p = cr_extra_commands; *p; p++)
		fprintf(f, "  %-23s %s\n", (*p)->name, (*p)->summary);
	fprintf(f, "\n"
		   "Each command takes --help. Exit codes: 0 ok, 1 run-time failure, 2 usage,\n"
		   "3 configuration error.\n");
}

static int _cmd_check_config(int argc, char **argv)
{
	static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("Usage: camrelay check-config FILE\n"
			       "Reads FILE, validates every key and value, prints a summary.\n"
			       "Exit 0 when valid, 3 with a file:line:col message when not.\n");
			return 0;
		}
		return 2;
	}
	if (optind != argc - 1) {
		fprintf(stderr, "camrelay check-config: expected one FILE (see --help)\n");
		return 2;
	}
	static struct cr_config_s cfg;
	char err[1024];
	if (cr_config_load(argv[optind], &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 3;
	}
	printf("%s: ok: %d stream%s, http on %s\n", argv[optind], cfg.n_streams,
	       cfg.n_streams == 1 ? "" : "s", cfg.http.listen);
	for (int i = 0; i < cfg.n_streams; i++) {
		const struct cr_stream_cfg_s *s = cfg.streams[i];
		for (int j = 0; j < s->n_sources; j++) {
			const struct cr_source_cfg_s *src = &s->sources[j];
			if (src->url[0])
				printf("  stream %s: url %s\n", s->name, src->url);
			else
				printf("  stream %s: %s %s %dx%d@%d %s%s%s\n", s->name, src->capture.backend,
				       src->capture.device, src->capture.width, src->capture.height,
				       src->capture.fps, cr_pixfmt_name(src->capture.pixel_format),
				       src->encoder.present ? " -> " : "",
				       src->encoder.present ? cr_codec_name(src->encoder.codec) : "");
		}
	}
	return 0;
}

/* SIGHUP (main thread): the certificate (HTTPS) and the config file are
 * read again on the HTTP loop (cli/reload.c), which logs what changed. */
static void _serve_sighup(void *ctx)
{
	struct cr_serve_s *sv = ctx;
	char msg[2048];
	if (!sv->path)
		CR_LOG_W("reload", "SIGHUP: serving the built-in test stream (no -c FILE): no config to re-read");
	cr_http_reload(sv->http, msg, sizeof(msg));
}

static int _cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
					      {"listen", required_argument, NULL, 'l'},
					      {"verbose", no_argument, NULL, 'v'},
					      {"log-format", required_argument, NULL, 'F'},
					      {"help", no_argument, NULL, 'h'},
					      {NULL, 0, NULL, 0}};
	const char *path = NULL, *listen = NULL;
	int c;
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:l:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'l':
			listen = optarg;
			break;
		case 'v':
			cr_log_level = CR_LOG_DEBUG;
			break;
		case 'F':
			if (cr_log_set_format(optarg) < 0) {
				fprintf(stderr, "camrelay serve: --log-format \"%s\" is not a log format (allowed: text, json)\n",
					optarg);
				return 2;
			}
			break;
		case 'h':
			printf("Usage: camrelay serve [-c FILE] [-l HOST:PORT] [-v] [--log-format FORMAT]\n"
			       "Runs the streams of FILE; without -c, the built-in test stream.\n"
			       "  -c, --config FILE     configuration (see README.md)\n"
			       "  -l, --listen H:P      HTTP address (overrides [http] listen)\n"
			       "  -v, --verbose         debug logging\n"
			       "  --log-format FORMAT   text (default; under systemd with syslog priority\n"
			       "                        prefixes) or json (one object per line)\n"
			       "SIGINT/SIGTERM stop. SIGHUP (or POST /api/reload) re-reads FILE and the\n"
			       "HTTPS certificate: streams whose blocks changed restart, new ones start,\n"
			       "removed ones stop, the others keep running untouched; a file with errors\n"
			       "is refused (file:line:column) and the running configuration stays.\n"
			       "Under systemd (Type=notify) it sends READY=1 and STATUS= once serving,\n"
			       "and WATCHDOG=1 from the main loop when WatchdogSec is set.\n");
			return 0;
		default:
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "camrelay serve: unexpected argument \"%s\" (see --help)\n", argv[optind]);
		return 2;
	}
	static struct cr_config_s cfg;
	char err[1024];
	if (path) {
		if (cr_config_load(path, &cfg, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s\n", err);
			return 3;
		}
	} else {
		cr_config_default(&cfg);
	}
	if (listen)
		snprintf(cfg.http.listen, sizeof(cfg.http.listen), "%s", listen);

	signal(SIGPIPE, SIG_IGN);
	cr_service_block_signals(); /* before any thread: only the main loop takes them */
	/* Bridge addresses that are taken are config errors: said before anything starts. */
	if (cr_dc_check_config(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return 3;
	}

	/* Encoders open when their first consumer arrives; a hardware encoder
	 * that cannot exist here is said now, not then. */
	for (int i = 0; i < cfg.n_streams; i++)
		for (int k = 0; k < cfg.streams[i]->n_sources; k++) {
			const struct cr_encoder_cfg_s *e = &cfg.streams[i]->sources[k].encoder;
			int r = e->present ? cr_encoder_check(e, err, sizeof(err)) : 0;
			if (r < 0) {
				CR_LOG_E("serve", "%s:%d: stream \"%s\": encoder backend \"%s\": %s", cfg.path, e->line,
					 cfg.streams[i]->name, e->backend, err);
				return 1;
			}
			if (r > 0)
				CR_LOG_W("serve", "%s:%d: stream \"%s\": %s", cfg.path, e->line, cfg.streams[i]->name, err);
		}
	/* So is a sink whose module is not installed. */
	for (int i = 0; i < cfg.n_streams; i++)
		if (cr_sinks_ready(cfg.streams[i], cfg.path, err, sizeof(err)) < 0) {
			CR_LOG_E("serve", "%s", err);
			return 1;
		}

	static struct cr_serve_s sv;
	sv = (struct cr_serve_s){.cfg = &cfg, .path = path};
	int rc = 0;
	for (int i = 0; i < cfg.n_streams; i++) {
		struct cr_stream_s *s = sv.streams[sv.n++] = cr_stream_new(cfg.streams[i]);
		if (!s || cr_stream_start(s, err, sizeof(err)) < 0 ||
		    cr_sinks_open(s, &sv.sinks[i], err, sizeof(err)) < 0) {
			CR_LOG_E("serve", "%s", s ? err : "out of memory");
			rc = 1;
			goto out;
		}
	}
	sv.http = cr_http_start(&cfg, sv.streams, sv.n, err, sizeof(err));
	if (!sv.http) {
		CR_LOG_E("serve", "%s", err);
		rc = 1;
		goto out;
	}
	if (path)
		cr_http_set_reload(sv.http, cr_serve_reload, &sv);
	CR_LOG_I("serve", "serving %d stream%s on http://%s/", cfg.n_streams, cfg.n_streams == 1 ? "" : "s",
		 cfg.http.listen);
	char names[256] = "";
	for (int i = 0, n = 0; i < cfg.n_streams && n >= 0 && (size_t)n < sizeof(names); i++)
		n += snprintf(names + n, sizeof(names) - (size_t)n, "%s%s", i ? ", " : "", cfg.streams[i]->name);
	cr_service_notify("READY=1\nSTATUS=serving %d stream%s (%s) on http://%s/", cfg.n_streams,
			  cfg.n_streams == 1 ? "" : "s", names, cfg.http.listen);
	cr_service_loop(_serve_sighup, &sv);
	CR_LOG_I("serve", "stopping");
	cr_http_stop(sv.http);
out:
	cr_serve_close(&sv);
	return rc;
}

static const struct cr_command_s _commands[] = {
	{"serve", _cmd_serve, "run streams"},
	{"check-config", _cmd_check_config, "validate a config file"},
};

int main(int argc, char **argv)
{
	/* No transparent huge pages (issue 20, footprint): with THP "always" (Debian's
	 * kernels) a thread's first stack touch near a 2 MB boundary maps a
	 * whole 2 MB page, and so can a frame buffer's; camrelay's memory is
	 * many small regions touched a page at a time. */
	prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
	cr_log_set_format(NULL); /* syslog priority prefixes when stderr is the journal */
	cr_sinks_config_tables(); /* the config reader learns the sinks' keys */
	cr_config_use_webrtc_codecs(cr_whep_codecs()); /* and what WHEP can serve */
	if (argc < 2) {
		_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		_print_version();
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(_commands) / sizeof(_commands[0]); i++)
		if (strcmp(argv[1], _commands[i].name) == 0)
			return _commands[i].run(argc - 1, argv + 1);
	for (const struct cr_command_s *const *p = cr_extra_commands; *p; p++)
		if (strcmp(argv[1], (*p)->name) == 0)
			return (*p)->run(argc - 1, argv + 1);
	fprintf(stderr, "camrelay: unknown command \"%s\" (see camrelay --help)\n", argv[1]);
	return 2;
}

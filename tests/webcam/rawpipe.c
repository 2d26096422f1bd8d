/* Test and bench tool: runs one camrelay stream (any source backend) and
 * writes its raw frames, converted by the stream core exactly as for the
 * webcam sink, to stdout — the webcam sink's work with a pipe in place of
 * the v4l2loopback device (the host has no v4l2loopback).
 *
 *   rawpipe --backend gphoto2 --device ptpip:127.0.0.1:P:P [--size WxH]   (or --backend file --device CLIP)
 *           [--format yuv420] [--seconds N] [--control name=value]...
 *           [--list-controls] [--set-after SEC name=value] [--header]
 *
 * --header: each frame is preceded by 40 bytes, little endian:
 *   u32 magic "CRFR", u32 flags (1 = placeholder), u64 seq,
 *   i64 ts_capture_ns, i64 ts_written_ns (CLOCK_MONOTONIC), u32 w, u32 h.
 * Once a second a line on stderr: "STAT t=.. frames=.. placeholders=..
 * fds=.. frames_alive=.. state=.. cpu_ms=..". Exit 0 at the end, 1 on error. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/frame.h"
#include "core/log.h"
#include "core/stream.h"

static volatile sig_atomic_t _stop;
static void _on_signal(int s)
{
	(void)s;
	_stop = 1;
}

static int _count_fds(void)
{
	int n = 0;
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n - 1; /* the DIR's own fd */
}

static long _cpu_ms(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000L + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
}

static int _write_all(const void *p, size_t n)
{
	const uint8_t *b = p;
	while (n) {
		ssize_t r = write(1, b, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		b += r;
		n -= (size_t)r;
	}
	return 0;
}

static int _split(const char *arg, struct cr_control_cfg_s *c)
{
	const char *eq = strchr(arg, '=');
	if (!eq)
		return -1;
	snprintf(c->name, sizeof(c->name), "%.*s", (int)(eq - arg), arg);
	snprintf(c->value, sizeof(c->value), "%s", eq + 1);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"backend", required_argument, NULL, 'b'}, {"device", required_argument, NULL, 'd'},
		{"size", required_argument, NULL, 's'},    {"format", required_argument, NULL, 'f'},
		{"seconds", required_argument, NULL, 't'}, {"control", required_argument, NULL, 'c'},
		{"list-controls", no_argument, NULL, 'l'}, {"set-after", required_argument, NULL, 'a'},
		{"header", no_argument, NULL, 'H'},        {"src-size", required_argument, NULL, 'S'},
		{"fps", required_argument, NULL, 'r'},     {"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0}};
	static struct cr_stream_cfg_s cfg;
	struct cr_capture_cfg_s *cap = &cfg.sources[0].capture;
	snprintf(cfg.name, sizeof(cfg.name), "rawpipe");
	cfg.n_sources = 1;
	snprintf(cap->backend, sizeof(cap->backend), "test");
	cap->loop = true; /* --backend file: looped, as a source's file key does by default */
	int w = 0, h = 0, c;
	double seconds = 5, set_after = -1;
	bool list = false, header = false;
	struct cr_control_cfg_s later = {0};
	enum cr_pixfmt_e fmt = CR_PIXFMT_YUV420;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			snprintf(cap->backend, sizeof(cap->backend), "%s", optarg);
			break;
		case 'd':
			snprintf(cap->device, sizeof(cap->device), "%s", optarg);
			break;
		case 's':
			sscanf(optarg, "%dx%d", &w, &h);
			break;
		case 'S':
			sscanf(optarg, "%dx%d", &cap->width, &cap->height);
			break;
		case 'r':
			cap->fps = atoi(optarg);
			break;
		case 'f':
			fmt = cr_pixfmt_from_name(optarg);
			break;
		case 't':
			seconds = atof(optarg);
			break;
		case 'c':
			if (cap->n_controls < CR_MAX_CONTROLS && _split(optarg, &cap->controls[cap->n_controls]) == 0)
				cap->n_controls++;
			break;
		case 'l':
			list = true;
			break;
		case 'a': {
			char *sp = strchr(optarg, ' ');
			set_after = atof(optarg);
			if (!sp || _split(sp + 1, &later) < 0) {
				fprintf(stderr, "rawpipe: --set-after \"SEC name=value\"\n");
				return 2;
			}
			break;
		}
		case 'H':
			header = true;
			break;
		case 'q':
			cr_log_level = CR_LOG_WARN;
			break;
		default:
			return 2;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	struct sigaction sa = {.sa_handler = _on_signal};
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	char err[512];
	struct cr_stream_s *s = cr_stream_new(&cfg);
	if (!s || cr_stream_start(s, err, sizeof(err)) < 0) {
		fprintf(stderr, "rawpipe: %s\n", s ? err : "out of memory");
		return 1;
	}
	struct cr_sub_req_s req = {.kind = CR_SUB_RAW, .format = fmt, .width = w, .height = h, .depth = 4,
				   .name = "rawpipe"};
	struct cr_sub_s *sub = cr_stream_subscribe(s, &req);
	int64_t t0 = cr_now_ns(), next_stat = t0 + 1000000000LL;
	uint64_t frames = 0, placeholders = 0;
	bool listed = false;
	int rc = 0;
	while (!_stop && (seconds <= 0 || cr_now_ns() - t0 < (int64_t)(seconds * 1e9))) {
		struct cr_frame_s *f = cr_sub_pop(sub, 100);
		int64_t now = cr_now_ns();
		if (f) {
			frames++;
			placeholders += f->placeholder;
			if (header) {
				struct __attribute__((packed)) {
					uint32_t magic, flags;
					uint64_t seq;
					int64_t ts_capture, ts_written;
					uint32_t w, h;
				} hd = {0x52465243, f->placeholder ? 1u : 0u, f->seq, f->ts_capture_ns, now,
					(uint32_t)f->width, (uint32_t)f->height};
				if (_write_all(&hd, sizeof(hd)) < 0)
					_stop = 1;
			}
			for (int p = 0; p < f->n_planes && !_stop; p++) {
				int stride[3], rows[3];
				cr_pixfmt_planes(f->format, f->width, f->height, stride, rows);
				if (f->stride[p] == stride[p]) { /* tight: one write per plane */
					if (_write_all(f->data[p], (size_t)stride[p] * rows[p]) < 0)
						_stop = 1;
					continue;
				}
				for (int y = 0; y < rows[p] && !_stop; y++)
					if (_write_all(f->data[p] + (size_t)y * f->stride[p], (size_t)stride[p]) < 0)
						_stop = 1;
			}
			cr_sub_sent(sub, f->ts_capture_ns);
			cr_frame_unref(f);
		}
		if (list && !listed) {
			struct cr_control_info_s ctl[128];
			int n = cr_stream_list_controls(s, ctl, 128);
			if (n >= 0) {
				for (int i = 0; i < n; i++)
					fprintf(stderr, "CONTROL %s type=%d value=%lld text=%s\n", ctl[i].name, ctl[i].type,
						(long long)ctl[i].value, ctl[i].text);
				listed = true;
			}
		}
		if (set_after >= 0 && now - t0 >= (int64_t)(set_after * 1e9)) {
			int r = cr_stream_set_control(s, later.name, later.value, err, sizeof(err));
			fprintf(stderr, "SETCONTROL %s=%s %s%s\n", later.name, later.value, r < 0 ? "failed: " : "ok",
				r < 0 ? err : "");
			if (r != -ENODEV)
				set_after = -1;
		}
		if (now >= next_stat) {
			struct cr_stream_status_s st;
			cr_stream_status(s, &st);
			fprintf(stderr,
				"STAT t=%.1f frames=%llu placeholders=%llu fds=%d frames_alive=%ld state=%s size=%dx%d fps=%.2f cpu_ms=%ld msg=%s\n",
				(now - t0) / 1e9, (unsigned long long)frames, (unsigned long long)placeholders,
				_count_fds(), (long)atomic_load(&cr_frames_alive), cr_source_state_name(st.state),
				st.width, st.height, st.fps_measured, _cpu_ms(), st.message);
			next_stat += 1000000000LL;
		}
	}
	cr_stream_unsubscribe(sub);
	struct cr_stream_stats_s *stats = cr_stream_stats(s);
	fprintf(stderr, "END frames=%llu placeholders=%llu captured=%llu converted=%llu cpu_ms=%ld lat_p50_us=%u lat_p99_us=%u\n",
		(unsigned long long)frames, (unsigned long long)placeholders,
		(unsigned long long)atomic_load(&stats->frames_captured),
		(unsigned long long)atomic_load(&stats->frames_converted), _cpu_ms(),
		cr_latency_percentile(&stats->capture_to_sent, 50), cr_latency_percentile(&stats->capture_to_sent, 99));
	cr_stream_destroy(s);
	return rc;
}

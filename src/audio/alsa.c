/* ALSA capture through libasound: S16 interleaved at the configured rate
 * and channels, a 10 ms period (latency: one period plus the 20 ms block)
 * and a buffer of 50 periods (headroom against overruns when the machine is
 * busy; it adds no latency: capture is read as soon as a period is in). Non-blocking with poll(), so a read gives up
 * after its timeout. An overrun is recovered here (prepare, start: -EPIPE
 * tells the stage to count it); an unplugged card (-ENODEV) or another
 * failure goes back to the stage, which sends silence and reopens with
 * backoff. Each block's time is CLOCK_MONOTONIC now minus what ALSA still
 * holds (snd_pcm_delay) minus the block itself.
 *
 * device: a PCM name ("default", "hw:1,0", "plughw:CARD=Loopback,DEV=1")
 * or a card's id or name as `camrelay list` shows it ("Loopback"), which
 * means plughw:CARD=<id>,DEV=0. */
#include <alsa/asoundlib.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/audio.h"
#include "audio/talk.h"
#include "core/clock.h"
#include "core/module.h"

#define _MAX_FDS 4

struct _alsa_s {
	snd_pcm_t *pcm;
	char name[160];
	int got; /* frames of the current block read so far */
};

/* A card's id or name → "plughw:CARD=<id>,DEV=0"; else the name as given. */
static void _pcm_name(const char *dev, char *out, size_t n)
{
	if (!strchr(dev, ':') && strcmp(dev, "default") != 0) {
		int card = -1;
		while (snd_card_next(&card) == 0 && card >= 0) {
			char hw[16];
			snd_ctl_t *ctl;
			snd_ctl_card_info_t *info;
			snd_ctl_card_info_alloca(&info);
			snprintf(hw, sizeof(hw), "hw:%d", card);
			if (snd_ctl_open(&ctl, hw, 0) < 0)
				continue;
			bool match = snd_ctl_card_info(ctl, info) == 0 &&
				     (strcmp(snd_ctl_card_info_get_id(info), dev) == 0 ||
				      strcmp(snd_ctl_card_info_get_name(info), dev) == 0);
			if (match)
				snprintf(out, n, "plughw:CARD=%s,DEV=0", snd_ctl_card_info_get_id(info));
			snd_ctl_close(ctl);
			if (match)
				return;
		}
	}
	snprintf(out, n, "%s", dev);
}

/* libasound reports a card it may not open as missing (it cannot read the
 * card's control device to match the name): true when /dev/snd has sound
 * devices and this user may open none of them. */
bool cr_alsa_denied(void)
{
	DIR *d = opendir("/dev/snd");
	bool any = false, usable = false;
	for (struct dirent *e; d && (e = readdir(d));) {
		char path[300];
		if (strncmp(e->d_name, "controlC", 8) != 0 && strncmp(e->d_name, "pcmC", 4) != 0)
			continue;
		snprintf(path, sizeof(path), "/dev/snd/%s", e->d_name);
		any = true;
		usable |= access(path, R_OK | W_OK) == 0 || errno != EACCES;
	}
	if (d)
		closedir(d);
	return any && !usable;
}

static int _fail(struct cr_audio_source_s *src, int rc, const char *what)
{
	struct _alsa_s *a = src->priv;
	if ((rc == -ENOENT || rc == -ENODEV) && cr_alsa_denied())
		rc = -EACCES;
	const char *fix = rc == -EBUSY ? " (another program records from it; `fuser -v /dev/snd/*` shows which)"
			  : rc == -EACCES || rc == -EPERM ? " (no permission: add the user to the \"audio\" group)"
			  : rc == -ENOENT || rc == -ENODEV ? " (`camrelay list` shows the capture devices)"
			  : "";
	snprintf(src->error, sizeof(src->error), "ALSA device \"%s\": %s: %s%s", a->name, what, snd_strerror(rc), fix);
	return rc < 0 ? rc : -EIO;
}

static int _set_params(struct cr_audio_source_s *src)
{
	struct _alsa_s *a = src->priv;
	const struct cr_audio_cfg_s *cfg = src->cfg;
	snd_pcm_hw_params_t *hw;
	snd_pcm_hw_params_alloca(&hw);
	snd_pcm_uframes_t period = (snd_pcm_uframes_t)cfg->rate / 100, buffer = period * 50;
	int rc;
	if ((rc = snd_pcm_hw_params_any(a->pcm, hw)) < 0 ||
	    (rc = snd_pcm_hw_params_set_access(a->pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED)) < 0 ||
	    (rc = snd_pcm_hw_params_set_format(a->pcm, hw, SND_PCM_FORMAT_S16)) < 0)
		return _fail(src, rc, "cannot capture 16-bit interleaved samples (use a plughw: device)");
	if ((rc = snd_pcm_hw_params_set_channels(a->pcm, hw, (unsigned)cfg->channels)) < 0) {
		snprintf(src->error, sizeof(src->error), "ALSA device \"%s\" cannot capture %d channel%s (use a plughw: "
			 "device to convert)", a->name, cfg->channels, cfg->channels > 1 ? "s" : "");
		return -EINVAL;
	}
	if ((rc = snd_pcm_hw_params_set_rate(a->pcm, hw, (unsigned)cfg->rate, 0)) < 0) {
		unsigned lo = 0, hi = 0;
		snd_pcm_hw_params_get_rate_min(hw, &lo, NULL);
		snd_pcm_hw_params_get_rate_max(hw, &hi, NULL);
		snprintf(src->error, sizeof(src->error), "ALSA device \"%s\" does not capture at %d Hz (it offers %u..%u "
			 "Hz; a plughw: device resamples)", a->name, cfg->rate, lo, hi);
		return -EINVAL;
	}
	if ((rc = snd_pcm_hw_params_set_period_size_near(a->pcm, hw, &period, NULL)) < 0 ||
	    (rc = snd_pcm_hw_params_set_buffer_size_near(a->pcm, hw, &buffer)) < 0 ||
	    (rc = snd_pcm_hw_params(a->pcm, hw)) < 0)
		return _fail(src, rc, "cannot set a 10 ms period");
	if ((rc = snd_pcm_prepare(a->pcm)) < 0 || (rc = snd_pcm_start(a->pcm)) < 0)
		return _fail(src, rc, "cannot start capture");
	return 0;
}

static void _alsa_close(struct cr_audio_source_s *src)
{
	struct _alsa_s *a = src->priv;
	if (!a)
		return;
	if (a->pcm)
		snd_pcm_close(a->pcm);
	free(a);
	src->priv = NULL;
}

/* libasound prints its own errors to stderr, on every retry; the stage
 * says what failed once, with the fix. */
static void _quiet(const char *file, int line, const char *fn, int err, const char *fmt, ...)
{
	(void)file, (void)line, (void)fn, (void)err, (void)fmt;
}

static int _alsa_open(struct cr_audio_source_s *src)
{
	snd_lib_error_set_handler(_quiet);
	struct _alsa_s *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(src->error, sizeof(src->error), "out of memory");
		return -ENOMEM;
	}
	src->priv = a;
	_pcm_name(src->cfg->device, a->name, sizeof(a->name));
	snprintf(src->device_path, sizeof(src->device_path), "%s", a->name);
	int rc = snd_pcm_open(&a->pcm, a->name, SND_PCM_STREAM_CAPTURE, SND_PCM_NONBLOCK);
	if (rc < 0) {
		a->pcm = NULL;
		rc = _fail(src, rc, "cannot open for capture");
		_alsa_close(src);
		return rc;
	}
	if ((rc = _set_params(src)) < 0) {
		_alsa_close(src);
		return rc;
	}
	return 0;
}

/* An overrun or a suspend: restart capture; -EPIPE (counted) or a failure. */
static int _recover(struct cr_audio_source_s *src, int rc)
{
	struct _alsa_s *a = src->priv;
	a->got = 0;
	if (rc == -ESTRPIPE)
		while ((rc = snd_pcm_resume(a->pcm)) == -EAGAIN)
			cr_sleep_until_ns(cr_deadline_ns(10));
	if (snd_pcm_prepare(a->pcm) < 0 || snd_pcm_start(a->pcm) < 0)
		return _fail(src, -EIO, "cannot restart capture after an overrun");
	return -EPIPE;
}

static int _alsa_read(struct cr_audio_source_s *src, int16_t *pcm, int64_t *ts_ns, int timeout_ms)
{
	struct _alsa_s *a = src->priv;
	int ch = src->cfg->channels;
	int64_t until = cr_deadline_ns(timeout_ms);
	while (a->got < src->frames) {
		snd_pcm_sframes_t n = snd_pcm_readi(a->pcm, pcm + (size_t)a->got * (size_t)ch,
						    (snd_pcm_uframes_t)(src->frames - a->got));
		if (n > 0) {
			a->got += (int)n;
			continue;
		}
		if (n == -EPIPE || n == -ESTRPIPE)
			return _recover(src, (int)n);
		if (n != -EAGAIN && n != 0)
			return _fail(src, (int)n, n == -ENODEV ? "gone (unplugged?)" : "read failed");
		struct pollfd fds[_MAX_FDS];
		int nfds = snd_pcm_poll_descriptors(a->pcm, fds, _MAX_FDS);
		int left = cr_ms_left(until);
		if (left == 0)
			return 0;
		if (nfds <= 0 || poll(fds, (nfds_t)nfds, left) < 0)
			return errno == EINTR ? 0 : _fail(src, -errno, "poll failed");
		unsigned short revents = 0;
		if (snd_pcm_poll_descriptors_revents(a->pcm, fds, (unsigned)nfds, &revents) == 0 &&
		    (revents & (POLLERR | POLLHUP | POLLNVAL))) {
			snd_pcm_state_t st = snd_pcm_state(a->pcm);
			if (st == SND_PCM_STATE_XRUN || st == SND_PCM_STATE_SUSPENDED)
				return _recover(src, st == SND_PCM_STATE_XRUN ? -EPIPE : -ESTRPIPE);
			if (st == SND_PCM_STATE_DISCONNECTED || (revents & (POLLHUP | POLLNVAL)))
				return _fail(src, -ENODEV, "gone (unplugged?)");
		}
	}
	snd_pcm_sframes_t delay = 0;
	if (snd_pcm_delay(a->pcm, &delay) < 0 || delay < 0)
		delay = 0;
	*ts_ns = cr_now_ns() - ((int64_t)delay + src->frames) * 1000000000LL / src->cfg->rate;
	a->got = 0;
	return 1;
}

/* Capture-capable PCMs of every card, through the control interface (no
 * device is opened for capture). */
static int _alsa_list(struct cr_audio_device_s *out, int max)
{
	int card = -1, n = 0;
	while (n < max && snd_card_next(&card) == 0 && card >= 0) {
		char hw[16];
		snd_ctl_t *ctl;
		snd_ctl_card_info_t *info;
		snd_pcm_info_t *pi;
		snd_ctl_card_info_alloca(&info);
		snd_pcm_info_alloca(&pi);
		snprintf(hw, sizeof(hw), "hw:%d", card);
		if (snd_ctl_open(&ctl, hw, 0) < 0)
			continue;
		if (snd_ctl_card_info(ctl, info) < 0) {
			snd_ctl_close(ctl);
			continue;
		}
		int dev = -1;
		while (n < max && snd_ctl_pcm_next_device(ctl, &dev) == 0 && dev >= 0) {
			snd_pcm_info_set_device(pi, (unsigned)dev);
			snd_pcm_info_set_subdevice(pi, 0);
			snd_pcm_info_set_stream(pi, SND_PCM_STREAM_CAPTURE);
			if (snd_ctl_pcm_info(ctl, pi) < 0)
				continue;
			struct cr_audio_device_s *d = &out[n++];
			snprintf(d->name, sizeof(d->name), "plughw:CARD=%s,DEV=%d", snd_ctl_card_info_get_id(info), dev);
			snprintf(d->card, sizeof(d->card), "%s", snd_ctl_card_info_get_name(info));
			snprintf(d->desc, sizeof(d->desc), "%s", snd_pcm_info_get_name(pi));
		}
		snd_ctl_close(ctl);
	}
	return n;
}

CR_MODULE_EXPORT const struct cr_audio_ops_s cr_audio_alsa = {
	.name = "alsa",
	.device_default = "default",
	.open = _alsa_open,
	.read = _alsa_read,
	.close = _alsa_close,
	.list = _alsa_list,
};

/* Look-ups in the generated backend tables. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "encode/encoder.h"
#include "source/source.h"

const struct cr_source_ops_s *cr_source_find(const char *name)
{
	for (const struct cr_source_ops_s *const *p = cr_source_backends; *p; p++)
		if (strcmp((*p)->name, name) == 0)
			return *p;
	return NULL;
}

bool cr_source_delivers(const struct cr_source_caps_s *caps, enum cr_pixfmt_e format)
{
	return !caps || cr_pixfmt_listed(caps->formats, format);
}

void cr_source_caps_str(const struct cr_source_caps_s *caps, char *out, size_t size)
{
	size_t o = (size_t)snprintf(out, size, "%s%s", caps && caps->hardware ? "hw " : "",
				    caps && caps->dynamic ? "dynamic " : "");
	for (const enum cr_pixfmt_e *f = caps ? caps->formats : NULL; f && *f && o < size; f++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", f == caps->formats ? "" : ",", cr_pixfmt_name(*f));
	for (const enum cr_codec_e *c = caps ? caps->codecs : NULL; c && *c && o < size; c++)
		o += (size_t)snprintf(out + o, size - o, "%s%s", c == caps->codecs ? "+" : ",", cr_codec_name(*c));
	if (o == 0 && size)
		snprintf(out, size, "any");
}

static int _has_codec(const struct cr_encoder_ops_s *ops, enum cr_codec_e codec)
{
	for (const enum cr_codec_e *c = ops->codecs; *c; c++)
		if (*c == codec)
			return 1;
	return 0;
}

const struct cr_encoder_ops_s *cr_encoder_find(const char *name, enum cr_codec_e codec)
{
	int any = !name || !*name || strcmp(name, "software") == 0;
	for (const struct cr_encoder_ops_s *const *p = cr_encoder_backends; *p; p++) {
		if (!(*p)->open || !_has_codec(*p, codec))
			continue;
		/* Hardware encoders are never chosen implicitly. */
		if (any ? !(*p)->hardware : strcmp((*p)->name, name) == 0)
			return *p;
	}
	return NULL;
}

int cr_encoder_check(const struct cr_encoder_cfg_s *cfg, char *msg, size_t msglen)
{
	const struct cr_encoder_ops_s *ops = cr_encoder_find(cfg->backend, cfg->codec);
	if (!ops) {
		snprintf(msg, msglen, "not in this build for %s (camrelay --version lists the backends it has)",
			 cr_codec_name(cfg->codec));
		return -ENOENT;
	}
	char why[384] = "";
	int r = ops->check ? ops->check(cfg, why, sizeof(why)) : 0;
	if (r >= 0)
		return 0;
	if (r == -ENOPKG) { /* a backend module is missing: why says what to install */
		snprintf(msg, msglen, "%s", why);
		return r;
	}
	/* fallback: a key of the hardware backends that declare it (v4l2-m2m) */
	bool fallback = strcmp(cr_option_str(ops->options, cfg->opts, "fallback"), "software") == 0;
	const struct cr_encoder_ops_s *sw = fallback ? cr_encoder_find("software", cfg->codec) : NULL;
	if (sw) {
		snprintf(msg, msglen, "%s; encoding %s in software (%s) as fallback = \"software\" asks", why,
			 cr_codec_name(cfg->codec), sw->name);
		return 1;
	}
	if (fallback)
		snprintf(msg, msglen, "%s; and no software %s encoder in this build", why, cr_codec_name(cfg->codec));
	else
		snprintf(msg, msglen, "%s; set encoder.device to one, or fallback = \"software\" to encode on the CPU",
			 why);
	return r;
}

/* V4L2 memory-to-memory stateful encoder (bcm2835-codec, Rockchip/Amlogic/
 * Qualcomm venus, vicodec's FWHT): raw frames on the OUTPUT queue, coded
 * packets from the CAPTURE queue, as the kernel's "Memory-to-Memory Stateful
 * Video Encoder Interface" describes it.
 *
 * With prefer_dmabuf, a frame that carries a DMA-BUF (V4L2 capture with
 * prefer_dmabuf) is queued as V4L2_MEMORY_DMABUF: no CPU copy, and the frame
 * (so the capture buffer) is held from QBUF until the OUTPUT buffer comes
 * back. Where that cannot work (no fd, layout mismatch, the driver refuses)
 * frames are copied into MMAP OUTPUT buffers, counted in bytes_copied, and
 * the reason is logged once.
 *
 * encode() is synchronous: it returns once the device has given the OUTPUT
 * buffer back (and the packet, when it comes with it), so at most one
 * capture buffer is ever held here and the capture queue never runs dry. */
#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/h264.h"
#include "core/log.h"
#include "core/stats.h"
#include "core/v4l2_util.h"
#include "encode/encoder.h"

#define _N_OUT 2
#define _N_CAP 4
#define _RING 32
#define _WAIT_MS 5000

struct _buf_s {
	void *start[VIDEO_MAX_PLANES];
	size_t length[VIDEO_MAX_PLANES];
	bool queued;
	struct cr_frame_s *frame; /* DMABUF: held until the buffer comes back */
};

struct _m2m_s {
	int fd;
	char path[256], card[64];
	bool mplane;
	uint32_t out_type, cap_type, coded_fourcc, raw_fourcc;
	int n_mem_planes; /* of the raw format (OUTPUT) */
	uint32_t bpl[VIDEO_MAX_PLANES], plane_size[VIDEO_MAX_PLANES];
	int coded_w, coded_h;

	bool out_ready;
	enum v4l2_memory out_mem;
	int n_out, n_cap;
	struct _buf_s out[_N_OUT], cap[_N_CAP];
	bool streaming_out, streaming_cap;
	bool copy_logged, keyframe_logged;
	int skipped_run; /* DMABUF: frames in a row that came without a DMA-BUF */

	uint64_t counter; /* frames queued; carried in the buffer timestamp */
	struct {
		int64_t ts_ns;
		uint64_t seq;
	} ring[_RING];
	uint64_t packets;
};

#define _ERR(enc, ...) snprintf((enc)->error, sizeof((enc)->error), __VA_ARGS__)

static uint32_t _codec_fourcc(enum cr_codec_e c)
{
	switch (c) {
	case CR_CODEC_H264: return V4L2_PIX_FMT_H264;
	case CR_CODEC_H265: return V4L2_PIX_FMT_HEVC;
	case CR_CODEC_VP8: return V4L2_PIX_FMT_VP8;
	case CR_CODEC_VP9: return V4L2_PIX_FMT_VP9;
	case CR_CODEC_MJPEG: return V4L2_PIX_FMT_JPEG;
	case CR_CODEC_FWHT: return V4L2_PIX_FMT_FWHT;
	default: return 0;
	}
}

static const char *_fourcc_codec_name(uint32_t f, char buf[16])
{
	switch (f) {
	case V4L2_PIX_FMT_H264: return "h264";
	case V4L2_PIX_FMT_HEVC: return "h265";
	case V4L2_PIX_FMT_VP8: return "vp8";
	case V4L2_PIX_FMT_VP9: return "vp9";
	case V4L2_PIX_FMT_JPEG:
	case V4L2_PIX_FMT_MJPEG: return "mjpeg";
	case V4L2_PIX_FMT_FWHT: return "fwht";
	default: return cr_v4l2_fourcc_str(f, buf);
	}
}

/* ---- finding the device ---- */

/* Does the open node encode `want`? Appends "card (codecs)" to found. */
static bool _probe(int fd, uint32_t want, bool *mplane, char *card, size_t cardlen, char *found, size_t foundlen)
{
	struct v4l2_capability cap = {0};
	if (cr_v4l2_ioctl(fd, VIDIOC_QUERYCAP, &cap) < 0)
		return false;
	uint32_t caps = cr_v4l2_device_caps(&cap);
	if (!(caps & (V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE)))
		return false;
	*mplane = !(caps & V4L2_CAP_VIDEO_M2M);
	snprintf(card, cardlen, "%s", (const char *)cap.card);
	uint32_t type = *mplane ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;
	bool has = false;
	char codecs[128] = "";
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_fmtdesc d = {.index = i, .type = type};
		if (cr_v4l2_ioctl(fd, VIDIOC_ENUM_FMT, &d) < 0)
			break;
		if (!(d.flags & V4L2_FMT_FLAG_COMPRESSED))
			continue;
		has |= d.pixelformat == want;
		char b[16];
		size_t l = strlen(codecs);
		snprintf(codecs + l, sizeof(codecs) - l, "%s%s", l ? ", " : "", _fourcc_codec_name(d.pixelformat, b));
	}
	if (*codecs && found) {
		size_t l = strlen(found);
		snprintf(found + l, foundlen - l, "%s%s (%s)", l ? "; " : "", card, codecs);
	}
	return has;
}

/* Its own config keys (core/options.h), in cfg.opts. */
struct _m2m_opts_s {
	char device[256];  /* encoder node, card name or bus info; "" = find one */
	char fallback[16]; /* "software" = use a software encoder when no device encodes */
};
_Static_assert(sizeof(struct _m2m_opts_s) <= CR_ENCODER_OPTS_SIZE, "v4l2-m2m options fit their block");
static const char *const _fallbacks[] = {"none", "software", NULL};
static const struct cr_option_s _m2m_options[] = {
	{.key = "device", .type = CR_OPT_STRING, .offset = offsetof(struct _m2m_opts_s, device),
	 .size = sizeof(((struct _m2m_opts_s *)0)->device), .help = "encoder node, card or bus info; \"\" = search"},
	{.key = "fallback", .type = CR_OPT_CHOICE, .offset = offsetof(struct _m2m_opts_s, fallback),
	 .size = sizeof(((struct _m2m_opts_s *)0)->fallback), .choices = _fallbacks,
	 .help = "software: encode on the CPU when no device encodes the codec"},
	CR_OPTS_END,
};

static const struct _m2m_opts_s *_opts(const struct cr_encoder_s *enc)
{
	return (const struct _m2m_opts_s *)(const void *)enc->cfg.opts;
}

static int _find_device(struct cr_encoder_s *enc, struct _m2m_s *m)
{
	uint32_t want = m->coded_fourcc;
	char found[512] = "";
	if (*_opts(enc)->device) {
		char err[256];
		int fd = cr_v4l2_open(_opts(enc)->device, V4L2_CAP_VIDEO_M2M | V4L2_CAP_VIDEO_M2M_MPLANE, m->path,
				      sizeof(m->path), NULL, 0, err, sizeof(err));
		if (fd < 0) {
			_ERR(enc, "%s", err);
			return fd;
		}
		if (_probe(fd, want, &m->mplane, m->card, sizeof(m->card), found, sizeof(found))) {
			m->fd = fd;
			return 0;
		}
		close(fd);
		_ERR(enc, "%s is not a V4L2 M2M encoder for %s (it offers: %s); set encoder.device to one that is, "
			  "or leave it out to search",
		     m->path, cr_codec_name(enc->cfg.codec), *found ? found : "no coded formats");
		return -ENODEV;
	}
	char nodes[64][64];
	int n = cr_v4l2_list_nodes("video", nodes, 64);
	for (int i = 0; i < n; i++) {
		int fd = open(nodes[i], O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (_probe(fd, want, &m->mplane, m->card, sizeof(m->card), found, sizeof(found))) {
			m->fd = fd;
			snprintf(m->path, sizeof(m->path), "%s", nodes[i]);
			return 0;
		}
		close(fd);
	}
	_ERR(enc, "no V4L2 M2M encoder for %s; found: %s", cr_codec_name(enc->cfg.codec),
	     *found ? found : "none (no /dev/video* node is a memory-to-memory encoder)");
	return -ENODEV;
}

/* ---- formats and controls ---- */

static void _set_fmt_fields(struct _m2m_s *m, struct v4l2_format *f, uint32_t type, uint32_t fourcc, int w, int h,
			    uint32_t sizeimage)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	if (m->mplane) {
		f->fmt.pix_mp.width = (uint32_t)w;
		f->fmt.pix_mp.height = (uint32_t)h;
		f->fmt.pix_mp.pixelformat = fourcc;
		f->fmt.pix_mp.field = V4L2_FIELD_NONE;
		f->fmt.pix_mp.num_planes = 1;
		f->fmt.pix_mp.plane_fmt[0].sizeimage = sizeimage;
	} else {
		f->fmt.pix.width = (uint32_t)w;
		f->fmt.pix.height = (uint32_t)h;
		f->fmt.pix.pixelformat = fourcc;
		f->fmt.pix.field = V4L2_FIELD_NONE;
		f->fmt.pix.sizeimage = sizeimage;
	}
}

/* Raw format for OUTPUT: the source's own when the device takes it, else the
 * first the device lists that camrelay can convert to. */
static uint32_t _pick_raw(struct cr_encoder_s *enc, struct _m2m_s *m)
{
	uint32_t want = cr_pixfmt_to_fourcc(enc->src_format), first = 0;
	for (uint32_t i = 0; i < 64; i++) {
		struct v4l2_fmtdesc d = {.index = i, .type = m->out_type};
		if (cr_v4l2_ioctl(m->fd, VIDIOC_ENUM_FMT, &d) < 0)
			break;
		if (want && d.pixelformat == want)
			return want;
		enum cr_pixfmt_e p = cr_pixfmt_from_fourcc(d.pixelformat);
		if (!first && p != CR_PIXFMT_NONE && p != CR_PIXFMT_MJPEG && cr_pixfmt_frame_size(p, 16, 16))
			first = d.pixelformat;
	}
	return first;
}

static int _set_formats(struct cr_encoder_s *enc, struct _m2m_s *m)
{
	struct v4l2_format f;
	char fc[16];
	uint32_t coded_size = (uint32_t)enc->width * (uint32_t)enc->height * 3 / 2 + 65536;
	/* The spec sets CAPTURE (coded) first: it decides what OUTPUT offers. */
	_set_fmt_fields(m, &f, m->cap_type, m->coded_fourcc, enc->width, enc->height, coded_size);
	int r = CR_V4L2_IOCTL(m->fd, m->path, VIDIOC_S_FMT, &f, enc->error, sizeof(enc->error), "%dx%d %s (coded)",
			      enc->width, enc->height, cr_v4l2_fourcc_str(m->coded_fourcc, fc));
	if (r < 0)
		return r;
	m->raw_fourcc = _pick_raw(enc, m);
	if (!m->raw_fourcc) {
		_ERR(enc, "%s (%s) takes no raw format camrelay can produce", m->path, m->card);
		return -EINVAL;
	}
	_set_fmt_fields(m, &f, m->out_type, m->raw_fourcc, enc->width, enc->height, 0);
	r = CR_V4L2_IOCTL(m->fd, m->path, VIDIOC_S_FMT, &f, enc->error, sizeof(enc->error), "%dx%d %s (raw)",
			  enc->width, enc->height, cr_v4l2_fourcc_str(m->raw_fourcc, fc));
	if (r < 0)
		return r;
	uint32_t got = m->mplane ? f.fmt.pix_mp.pixelformat : f.fmt.pix.pixelformat;
	if (got != m->raw_fourcc) {
		char fc2[16];
		_ERR(enc, "%s (%s) changed the raw format %s to %s", m->path, m->card,
		     cr_v4l2_fourcc_str(m->raw_fourcc, fc), cr_v4l2_fourcc_str(got, fc2));
		return -EINVAL;
	}
	if (m->mplane) {
		m->n_mem_planes = f.fmt.pix_mp.num_planes;
		m->coded_w = (int)f.fmt.pix_mp.width;
		m->coded_h = (int)f.fmt.pix_mp.height;
		for (int p = 0; p < m->n_mem_planes; p++) {
			m->bpl[p] = f.fmt.pix_mp.plane_fmt[p].bytesperline;
			m->plane_size[p] = f.fmt.pix_mp.plane_fmt[p].sizeimage;
		}
	} else {
		m->n_mem_planes = 1;
		m->coded_w = (int)f.fmt.pix.width;
		m->coded_h = (int)f.fmt.pix.height;
		m->bpl[0] = f.fmt.pix.bytesperline;
		m->plane_size[0] = f.fmt.pix.sizeimage;
	}
	if (m->coded_w < enc->width || m->coded_h < enc->height) {
		_ERR(enc, "%s (%s) cannot encode %dx%d (it offers %dx%d)", m->path, m->card, enc->width, enc->height,
		     m->coded_w, m->coded_h);
		return -EINVAL;
	}
	if (m->coded_w != enc->width || m->coded_h != enc->height) {
		/* Padded to the device's alignment: the visible part is the crop. */
		struct v4l2_selection sel = {.type = V4L2_BUF_TYPE_VIDEO_OUTPUT, .target = V4L2_SEL_TGT_CROP,
					     .r = {0, 0, (uint32_t)enc->width, (uint32_t)enc->height}};
		if (cr_v4l2_ioctl(m->fd, VIDIOC_S_SELECTION, &sel) < 0)
			CR_LOG_D("v4l2-m2m", "%s: no crop to %dx%d of %dx%d", m->path, enc->width, enc->height,
				 m->coded_w, m->coded_h);
	}
	enc->in_format = cr_pixfmt_from_fourcc(m->raw_fourcc);
	struct v4l2_streamparm parm = {.type = m->out_type};
	parm.parm.output.timeperframe.numerator = (uint32_t)enc->fps_den;
	parm.parm.output.timeperframe.denominator = (uint32_t)enc->fps_num;
	cr_v4l2_ioctl(m->fd, VIDIOC_S_PARM, &parm); /* optional: rate control hint */
	return 0;
}

static int _ctrl(struct _m2m_s *m, uint32_t id, int32_t value)
{
	struct v4l2_control c = {.id = id, .value = value};
	return cr_v4l2_ioctl(m->fd, VIDIOC_S_CTRL, &c);
}

/* Controls a device lacks are not an error: vicodec has no bitrate, some
 * H.264 encoders no level. Each miss is logged at debug level. */
static void _set_controls(struct cr_encoder_s *enc, struct _m2m_s *m)
{
	const struct cr_encoder_cfg_s *c = &enc->cfg;
	struct {
		uint32_t id;
		int32_t value;
		const char *name;
		bool want;
	} ctl[] = {
		{V4L2_CID_MPEG_VIDEO_BITRATE, (int32_t)c->bitrate, "bitrate", c->bitrate > 0},
		{V4L2_CID_MPEG_VIDEO_GOP_SIZE, c->gop, "gop", c->gop > 0},
		{V4L2_CID_MPEG_VIDEO_H264_I_PERIOD, c->gop, "i_period", c->gop > 0 && c->codec == CR_CODEC_H264},
		{V4L2_CID_MPEG_VIDEO_REPEAT_SEQ_HEADER, 1, "repeat_seq_header", c->codec == CR_CODEC_H264},
		{V4L2_CID_MPEG_VIDEO_H264_PROFILE, 0, "h264_profile", false},
		{V4L2_CID_MPEG_VIDEO_H264_LEVEL, 0, "h264_level", false},
	};
	if (c->codec == CR_CODEC_H264 && c->profile_idc) {
		bool constrained = c->profile_idc == 66 && (c->constraint_flags & 0x40);
		ctl[4].want = true;
		ctl[4].value = c->profile_idc == 100 ? V4L2_MPEG_VIDEO_H264_PROFILE_HIGH :
			       c->profile_idc == 77  ? V4L2_MPEG_VIDEO_H264_PROFILE_MAIN :
			       constrained	     ? V4L2_MPEG_VIDEO_H264_PROFILE_CONSTRAINED_BASELINE :
						       V4L2_MPEG_VIDEO_H264_PROFILE_BASELINE;
		int lv = cr_h264_level_index(c->level_idc); /* V4L2_MPEG_VIDEO_H264_LEVEL_1_0 = 0, 1B = 1, ... */
		ctl[5].want = lv >= 0;
		ctl[5].value = lv;
	}
	for (size_t i = 0; i < sizeof(ctl) / sizeof(ctl[0]); i++) {
		if (!ctl[i].want)
			continue;
		int r = _ctrl(m, ctl[i].id, ctl[i].value);
		if (r < 0)
			CR_LOG_D("v4l2-m2m", "%s (%s): control %s = %d not set: %s", m->path, m->card, ctl[i].name,
				 ctl[i].value, strerror(-r));
	}
}

/* ---- buffers ---- */

static void _unmap(struct _buf_s *b, int n)
{
	for (int i = 0; i < n; i++)
		for (int p = 0; p < VIDEO_MAX_PLANES; p++)
			if (b[i].start[p]) {
				munmap(b[i].start[p], b[i].length[p]);
				b[i].start[p] = NULL;
			}
}

static void _buf_init(struct _m2m_s *m, struct v4l2_buffer *b, struct v4l2_plane *planes, uint32_t type,
		      uint32_t memory, uint32_t index)
{
	memset(b, 0, sizeof(*b));
	memset(planes, 0, sizeof(*planes) * VIDEO_MAX_PLANES);
	b->type = type;
	b->memory = memory;
	b->index = index;
	if (m->mplane) {
		b->m.planes = planes;
		b->length = VIDEO_MAX_PLANES;
	}
}

static int _map_buffers(struct cr_encoder_s *enc, struct _m2m_s *m, uint32_t type, struct _buf_s *bufs, int n)
{
	for (int i = 0; i < n; i++) {
		struct v4l2_buffer b;
		struct v4l2_plane planes[VIDEO_MAX_PLANES];
		_buf_init(m, &b, planes, type, V4L2_MEMORY_MMAP, (uint32_t)i);
		int r = CR_V4L2_IOCTL(m->fd, m->path, VIDIOC_QUERYBUF, &b, enc->error, sizeof(enc->error),
				      "buffer %d", i);
		if (r < 0)
			return r;
		int np = m->mplane ? (int)b.length : 1;
		for (int p = 0; p < np; p++) {
			size_t len = m->mplane ? planes[p].length : b.length;
			off_t off = m->mplane ? planes[p].m.mem_offset : b.m.offset;
			void *a = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, off);
			if (a == MAP_FAILED) {
				r = -errno;
				_ERR(enc, "mmap of buffer %d of %s failed: %s", i, m->path, strerror(errno));
				return r;
			}
			bufs[i].start[p] = a;
			bufs[i].length[p] = len;
		}
	}
	return 0;
}

static int _qbuf_cap(struct cr_encoder_s *enc, struct _m2m_s *m, int i)
{
	struct v4l2_buffer b;
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	_buf_init(m, &b, planes, m->cap_type, V4L2_MEMORY_MMAP, (uint32_t)i);
	if (m->mplane) {
		b.length = 1;
		planes[0].length = (uint32_t)m->cap[i].length[0];
	}
	int r = CR_V4L2_IOCTL(m->fd, m->path, VIDIOC_QBUF, &b, enc->error, sizeof(enc->error), "coded buffer %d", i);
	m->cap[i].queued = r == 0;
	return r;
}

static int _reqbufs(struct cr_encoder_s *enc, struct _m2m_s *m, uint32_t type, uint32_t memory, int count)
{
	struct v4l2_requestbuffers rb = {.count = (uint32_t)count, .type = type, .memory = memory};
	int r = CR_V4L2_IOCTL(m->fd, m->path, VIDIOC_REQBUFS, &rb, enc->error, sizeof(enc->error), "%d %s buffers",
			      count, memory == V4L2_MEMORY_DMABUF ? "DMABUF" : "MMAP");
	return r < 0 ? r : (int)rb.count;
}

static int _streamon(struct cr_encoder_s *enc, struct _m2m_s *m, uint32_t type)
{
	return CR_V4L2_IOCTL(m->fd, m->path, VIDIOC_STREAMON, &type, enc->error, sizeof(enc->error), "%s",
			     type == m->out_type ? "OUTPUT (raw)" : "CAPTURE (coded)");
}

static void _out_release_all(struct _m2m_s *m)
{
	for (int i = 0; i < _N_OUT; i++) {
		cr_frame_unref(m->out[i].frame);
		m->out[i].frame = NULL;
		m->out[i].queued = false;
	}
}

static void _out_teardown(struct cr_encoder_s *enc, struct _m2m_s *m)
{
	if (m->streaming_out) {
		uint32_t type = m->out_type;
		cr_v4l2_ioctl(m->fd, VIDIOC_STREAMOFF, &type);
		m->streaming_out = false;
	}
	_out_release_all(m);
	_unmap(m->out, _N_OUT);
	if (m->out_ready)
		_reqbufs(enc, m, m->out_type, m->out_mem, 0);
	m->out_ready = false;
}

static int _out_setup(struct cr_encoder_s *enc, struct _m2m_s *m, enum v4l2_memory mem)
{
	int n = _reqbufs(enc, m, m->out_type, mem, _N_OUT);
	if (n < 0)
		return n;
	m->out_mem = mem;
	m->n_out = n < _N_OUT ? n : _N_OUT;
	m->out_ready = true;
	if (n < 1) {
		_ERR(enc, "%s gave no raw buffers", m->path);
		return -ENOMEM;
	}
	if (mem == V4L2_MEMORY_MMAP) {
		int r = _map_buffers(enc, m, m->out_type, m->out, m->n_out);
		if (r < 0)
			return r;
	}
	int r = _streamon(enc, m, m->out_type);
	m->streaming_out = r == 0;
	return r;
}

/* Why this frame cannot be imported, or NULL when it can. */
static const char *_import_blocker(struct cr_encoder_s *enc, struct _m2m_s *m, const struct cr_frame_s *f,
				   char *why, size_t n)
{
	if (f->dmabuf_fd < 0)
		return "the frame has no DMA-BUF (the source does not export its buffers: set prefer_dmabuf = true "
		       "in the capture block, or the camera's driver cannot export, e.g. USB cameras)";
	if (m->n_mem_planes != 1) {
		snprintf(why, n, "%s wants %d separate planes; the capture buffer has one", m->path, m->n_mem_planes);
		return why;
	}
	if (!m->mplane && f->dmabuf_offset[0] != 0)
		return "the frame starts inside its buffer (the single-planar API has no data offset)";
	int tight[3], rows[3];
	int np = cr_pixfmt_planes(f->format, m->coded_w, m->coded_h, tight, rows);
	uint32_t off = 0;
	for (int p = 0; p < np; p++) {
		uint32_t stride = (uint32_t)((uint64_t)m->bpl[0] * (uint64_t)tight[p] / (uint64_t)tight[0]);
		if ((uint32_t)f->stride[p] != stride || f->dmabuf_offset[p] - f->dmabuf_offset[0] != off) {
			snprintf(why, n,
				 "the frame's layout (plane %d: stride %d at offset %u, %dx%d) is not what %s expects "
				 "(stride %u at offset %u, %dx%d)",
				 p, f->stride[p], f->dmabuf_offset[p] - f->dmabuf_offset[0], f->width, f->height, m->path,
				 stride, off, m->coded_w, m->coded_h);
			return why;
		}
		off += stride * (uint32_t)rows[p];
	}
	(void)enc;
	return NULL;
}

static void _log_copy_once(struct cr_encoder_s *enc, struct _m2m_s *m, const char *why)
{
	CR_LOG_ONCE(m->copy_logged, CR_LOG_WARN, "v4l2-m2m",
		    "%s (%s): raw frames are copied into the encoder's buffers, not imported as DMA-BUF: %s", m->path,
		    m->card, why);
	(void)enc;
}

/* Copies the frame into MMAP buffer i in the device's layout. Returns bytes. */
static size_t _copy_in(struct _m2m_s *m, int i, const struct cr_frame_s *f, uint32_t bytesused[VIDEO_MAX_PLANES])
{
	int tight[3], rows[3];
	int np = cr_pixfmt_planes(f->format, f->width, f->height, tight, rows);
	int ctight[3], crows[3];
	cr_pixfmt_planes(f->format, m->coded_w, m->coded_h, ctight, crows);
	size_t copied = 0;
	uint8_t *base = m->out[i].start[0];
	size_t off = 0;
	for (int p = 0; p < np; p++) {
		uint8_t *dst;
		size_t stride;
		if (m->n_mem_planes > 1) {
			dst = m->out[i].start[p];
			stride = m->bpl[p];
		} else {
			stride = (size_t)m->bpl[0] * (size_t)ctight[p] / (size_t)ctight[0];
			dst = base + off;
			off += stride * (size_t)crows[p];
		}
		size_t row = (size_t)tight[p] < stride ? (size_t)tight[p] : stride;
		for (int y = 0; y < rows[p] && y < crows[p]; y++)
			memcpy(dst + (size_t)y * stride, f->data[p] + (size_t)y * (size_t)f->stride[p], row);
		copied += row * (size_t)rows[p];
		if (m->n_mem_planes > 1)
			bytesused[p] = m->plane_size[p];
	}
	if (m->n_mem_planes == 1)
		bytesused[0] = m->plane_size[0];
	return copied;
}

/* ---- dequeueing ---- */

static void _emit(struct cr_encoder_s *enc, struct _m2m_s *m, int i, const struct v4l2_buffer *b,
		  const struct v4l2_plane *planes)
{
	uint32_t used = m->mplane ? planes[0].bytesused - planes[0].data_offset : b->bytesused;
	uint32_t off = m->mplane ? planes[0].data_offset : 0;
	if (used == 0 || off + used > m->cap[i].length[0])
		return;
	struct cr_packet_s *pkt = cr_packet_new(enc->cfg.codec, used);
	if (!pkt)
		return;
	memcpy(pkt->data, (uint8_t *)m->cap[i].start[0] + off, used);
	uint64_t ctr = (uint64_t)b->timestamp.tv_sec;
	pkt->seq = m->ring[ctr % _RING].seq;
	pkt->ts_capture_ns = m->ring[ctr % _RING].ts_ns;
	pkt->pts = pkt->dts = pkt->ts_capture_ns * 9 / 100000;
	pkt->width = enc->width;
	pkt->height = enc->height;
	if (b->flags & V4L2_BUF_FLAG_KEYFRAME)
		pkt->flags |= CR_PACKET_KEYFRAME;
	bool typed = b->flags & (V4L2_BUF_FLAG_KEYFRAME | V4L2_BUF_FLAG_PFRAME | V4L2_BUF_FLAG_BFRAME);
	/* H.264/H.265 keyframes start with their parameter sets (repeat_seq_header). */
	const uint8_t *d = pkt->data;
	if (used > 5 && d[0] == 0 && d[1] == 0 && (d[2] == 1 || (d[2] == 0 && d[3] == 1))) {
		uint8_t nal = d[2] == 1 ? d[3] : d[4];
		if ((enc->cfg.codec == CR_CODEC_H264 && (nal & 0x1f) == 7) ||
		    (enc->cfg.codec == CR_CODEC_H265 && ((nal >> 1) & 0x3f) == 32))
			pkt->flags |= CR_PACKET_CONFIG | (typed ? 0 : CR_PACKET_KEYFRAME);
	}
	/* vicodec marks no frame type on its buffers; the FWHT header does
	 * (struct fwht_cframe_hdr: big-endian flags at byte 20, FWHT_FL_I_FRAME
	 * is bit 10). */
	if (!typed && enc->cfg.codec == CR_CODEC_FWHT && used >= 44 && d[0] == 0x4f && d[1] == 0x4f &&
	    (d[20 + 2] & 0x04))
		pkt->flags |= CR_PACKET_KEYFRAME;
	if (enc->cfg.codec == CR_CODEC_MJPEG)
		pkt->flags |= CR_PACKET_KEYFRAME;
	m->packets++;
	enc->emit(enc, pkt);
	cr_packet_unref(pkt);
}

/* Dequeues what is ready on both queues; *last set on V4L2_BUF_FLAG_LAST. */
static int _dequeue(struct cr_encoder_s *enc, struct _m2m_s *m, bool *last)
{
	for (;;) {
		struct v4l2_buffer b;
		struct v4l2_plane planes[VIDEO_MAX_PLANES];
		_buf_init(m, &b, planes, m->cap_type, V4L2_MEMORY_MMAP, 0);
		int r = cr_v4l2_ioctl(m->fd, VIDIOC_DQBUF, &b);
		if (r == -EAGAIN)
			break;
		if (r == -EPIPE) { /* drained: nothing more until V4L2_ENC_CMD_START */
			if (last)
				*last = true;
			break;
		}
		if (r < 0) {
			_ERR(enc, "VIDIOC_DQBUF (coded) on %s failed: %s", m->path, strerror(-r));
			return r;
		}
		if (b.index >= (uint32_t)m->n_cap)
			continue;
		m->cap[b.index].queued = false;
		if (!(b.flags & V4L2_BUF_FLAG_ERROR))
			_emit(enc, m, (int)b.index, &b, planes);
		if ((b.flags & V4L2_BUF_FLAG_LAST) && last)
			*last = true;
		if ((r = _qbuf_cap(enc, m, (int)b.index)) < 0)
			return r;
	}
	while (m->streaming_out) {
		struct v4l2_buffer b;
		struct v4l2_plane planes[VIDEO_MAX_PLANES];
		_buf_init(m, &b, planes, m->out_type, m->out_mem, 0);
		int r = cr_v4l2_ioctl(m->fd, VIDIOC_DQBUF, &b);
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			_ERR(enc, "VIDIOC_DQBUF (raw) on %s failed: %s", m->path, strerror(-r));
			return r;
		}
		if (b.index >= (uint32_t)m->n_out)
			continue;
		m->out[b.index].queued = false;
		cr_frame_unref(m->out[b.index].frame); /* the capture buffer goes back now */
		m->out[b.index].frame = NULL;
	}
	for (;;) {
		struct v4l2_event ev = {0};
		if (cr_v4l2_ioctl(m->fd, VIDIOC_DQEVENT, &ev) < 0)
			break;
		if (ev.type == V4L2_EVENT_EOS && last)
			*last = true;
	}
	return 0;
}

/* Waits (at most _WAIT_MS) until OUTPUT buffer i is back and `packets`
 * packets have come out, dequeueing as things arrive. */
static int _wait(struct cr_encoder_s *enc, struct _m2m_s *m, int i, uint64_t packets, bool *last)
{
	int64_t end = cr_now_ns() + (int64_t)_WAIT_MS * 1000000;
	for (;;) {
		int r = _dequeue(enc, m, last);
		if (r < 0)
			return r;
		bool out_back = i < 0 || !m->out[i].queued;
		if ((out_back && m->packets >= packets) || (last && *last))
			return 0;
		if (cr_now_ns() >= end) {
			if (out_back)
				return 0; /* the packet comes with a later frame */
			_ERR(enc, "%s (%s) did not return a raw buffer within %d ms", m->path, m->card, _WAIT_MS);
			return -ETIMEDOUT;
		}
		struct pollfd p = {.fd = m->fd, .events = POLLIN | POLLOUT | POLLPRI};
		r = poll(&p, 1, 100);
		if (r < 0 && errno != EINTR) {
			_ERR(enc, "poll on %s failed: %s", m->path, strerror(errno));
			return -errno;
		}
	}
}

/* ---- ops ---- */

static void _m2m_close(struct cr_encoder_s *enc);

/* At program start: the same search open() does, so a missing device is
 * reported before any consumer arrives. */
static int _m2m_check(const struct cr_encoder_cfg_s *cfg, char *err, size_t errlen)
{
	struct _m2m_s *m = calloc(1, sizeof(*m));
	struct cr_encoder_s *enc = calloc(1, sizeof(*enc));
	int r = -ENOMEM;
	snprintf(err, errlen, "out of memory");
	if (!m || !enc)
		goto out;
	m->fd = -1;
	enc->cfg = *cfg;
	m->coded_fourcc = _codec_fourcc(cfg->codec);
	r = m->coded_fourcc ? _find_device(enc, m) : -EINVAL;
	if (r < 0)
		snprintf(err, errlen, "%s", *enc->error ? enc->error : "V4L2 M2M encoders do not do this codec");
	if (m->fd >= 0)
		close(m->fd);
out:
	free(m);
	free(enc);
	return r < 0 ? r : 0;
}

static int _m2m_open(struct cr_encoder_s *enc)
{
	struct _m2m_s *m = calloc(1, sizeof(*m));
	if (!m) {
		_ERR(enc, "out of memory");
		return -ENOMEM;
	}
	m->fd = -1;
	enc->priv = m;
	m->coded_fourcc = _codec_fourcc(enc->cfg.codec);
	int r = -EINVAL;
	if (!m->coded_fourcc) {
		_ERR(enc, "V4L2 M2M encoders do not do %s here (allowed: h264, h265, vp8, vp9, mjpeg, fwht)",
		     cr_codec_name(enc->cfg.codec));
		goto error;
	}
	if ((r = _find_device(enc, m)) < 0) {
		if (strcmp(_opts(enc)->fallback, "software") == 0) {
			const struct cr_encoder_ops_s *sw = cr_encoder_find("software", enc->cfg.codec);
			if (sw) {
				CR_LOG_W("v4l2-m2m", "%s; encoding %s in software (%s) as fallback = \"software\" asks",
					 enc->error, cr_codec_name(enc->cfg.codec), sw->name);
				free(m);
				enc->priv = NULL;
				enc->ops = sw;
				enc->error[0] = 0;
				return sw->open(enc);
			}
			size_t l = strlen(enc->error);
			snprintf(enc->error + l, sizeof(enc->error) - l, "; and no software %s encoder in this build",
				 cr_codec_name(enc->cfg.codec));
		}
		goto error;
	}
	m->out_type = m->mplane ? V4L2_BUF_TYPE_VIDEO_OUTPUT_MPLANE : V4L2_BUF_TYPE_VIDEO_OUTPUT;
	m->cap_type = m->mplane ? V4L2_BUF_TYPE_VIDEO_CAPTURE_MPLANE : V4L2_BUF_TYPE_VIDEO_CAPTURE;
	if ((r = _set_formats(enc, m)) < 0)
		goto error;
	_set_controls(enc, m);
	struct v4l2_event_subscription sub = {.type = V4L2_EVENT_EOS};
	cr_v4l2_ioctl(m->fd, VIDIOC_SUBSCRIBE_EVENT, &sub); /* LAST on the buffer says it too */
	if ((r = _reqbufs(enc, m, m->cap_type, V4L2_MEMORY_MMAP, _N_CAP)) < 0)
		goto error;
	m->n_cap = r < _N_CAP ? r : _N_CAP;
	if ((r = _map_buffers(enc, m, m->cap_type, m->cap, m->n_cap)) < 0)
		goto error;
	for (int i = 0; i < m->n_cap; i++)
		if ((r = _qbuf_cap(enc, m, i)) < 0)
			goto error;
	if ((r = _streamon(enc, m, m->cap_type)) < 0)
		goto error;
	m->streaming_cap = true;
	char fc[16];
	CR_LOG_I("v4l2-m2m", "%s (%s): %s %dx%d from %s", m->path, m->card, cr_codec_name(enc->cfg.codec), enc->width,
		 enc->height, cr_v4l2_fourcc_str(m->raw_fourcc, fc));
	return 0;
error:
	_m2m_close(enc);
	return r < 0 ? r : -EINVAL;
}

static int _queue_frame(struct cr_encoder_s *enc, struct _m2m_s *m, struct cr_frame_s *f, int i)
{
	struct v4l2_buffer b;
	struct v4l2_plane planes[VIDEO_MAX_PLANES];
	_buf_init(m, &b, planes, m->out_type, m->out_mem, (uint32_t)i);
	uint64_t ctr = m->counter;
	b.timestamp.tv_sec = (time_t)ctr;
	b.field = V4L2_FIELD_NONE;
	uint32_t used[VIDEO_MAX_PLANES] = {0};
	size_t copied = 0;
	if (m->out_mem == V4L2_MEMORY_DMABUF) {
		if (m->mplane) {
			b.length = 1;
			planes[0].m.fd = f->dmabuf_fd;
			planes[0].data_offset = f->dmabuf_offset[0];
			planes[0].bytesused = f->dmabuf_offset[0] + m->plane_size[0];
			planes[0].length = planes[0].bytesused;
		} else {
			b.m.fd = f->dmabuf_fd;
			b.bytesused = m->plane_size[0];
			b.length = m->plane_size[0];
		}
	} else {
		copied = _copy_in(m, i, f, used);
		if (m->mplane) {
			b.length = (uint32_t)m->n_mem_planes;
			for (int p = 0; p < m->n_mem_planes; p++) {
				planes[p].bytesused = used[p];
				planes[p].length = (uint32_t)m->out[i].length[p];
			}
		} else {
			b.bytesused = used[0];
		}
	}
	int r = cr_v4l2_ioctl(m->fd, VIDIOC_QBUF, &b);
	if (r < 0) {
		_ERR(enc, "VIDIOC_QBUF (raw, %s) on %s failed: %s", m->out_mem == V4L2_MEMORY_DMABUF ? "DMABUF" : "MMAP",
		     m->path, strerror(-r));
		return r;
	}
	m->ring[ctr % _RING].ts_ns = f->ts_capture_ns;
	m->ring[ctr % _RING].seq = f->seq;
	m->counter++;
	m->out[i].queued = true;
	if (m->out_mem == V4L2_MEMORY_DMABUF)
		m->out[i].frame = cr_frame_ref(f);
	if (copied && enc->stats)
		atomic_fetch_add(&enc->stats->bytes_copied, copied);
	return 0;
}

static int _switch_to_mmap(struct cr_encoder_s *enc, struct _m2m_s *m, const char *why)
{
	_log_copy_once(enc, m, why);
	_out_teardown(enc, m);
	return _out_setup(enc, m, V4L2_MEMORY_MMAP);
}

static int _m2m_encode(struct cr_encoder_s *enc, struct cr_frame_s *f)
{
	struct _m2m_s *m = enc->priv;
	char why[256];
	int r;
	if (f->format != enc->in_format) {
		_ERR(enc, "got %s frames, expected %s", cr_pixfmt_name(f->format), cr_pixfmt_name(enc->in_format));
		return -EINVAL;
	}
	if (!m->out_ready) {
		const char *block = enc->cfg.prefer_dmabuf ? _import_blocker(enc, m, f, why, sizeof(why)) : "";
		if (block && *block)
			_log_copy_once(enc, m, block);
		if ((r = _out_setup(enc, m, block ? V4L2_MEMORY_MMAP : V4L2_MEMORY_DMABUF)) < 0)
			return r;
	} else if (m->out_mem == V4L2_MEMORY_DMABUF) {
		const char *block = _import_blocker(enc, m, f, why, sizeof(why));
		/* A lone frame without DMA-BUF is one the capture copied when its
		 * buffers ran short: skip it and stay zero-copy; a run of them
		 * means the source stopped exporting. */
		if (block && f->dmabuf_fd < 0 && ++m->skipped_run < 3) {
			CR_LOG_D("v4l2-m2m", "%s: frame %llu came without a DMA-BUF: skipped", m->path,
				 (unsigned long long)f->seq);
			return 0;
		}
		if (block && (r = _switch_to_mmap(enc, m, block)) < 0)
			return r;
		if (!block)
			m->skipped_run = 0;
	}
	int i = 0;
	while (i < m->n_out && m->out[i].queued)
		i++;
	if (i == m->n_out) {
		if ((r = _wait(enc, m, 0, 0, NULL)) < 0)
			return r;
		i = 0;
	}
	uint64_t want = m->counter + 1;
	r = _queue_frame(enc, m, f, i);
	if (r < 0 && m->out_mem == V4L2_MEMORY_DMABUF) {
		snprintf(why, sizeof(why), "the driver refused the DMA-BUF (%s)", strerror(-r));
		if ((r = _switch_to_mmap(enc, m, why)) < 0 || (r = _queue_frame(enc, m, f, 0)) < 0)
			return r;
		i = 0;
	} else if (r < 0) {
		return r;
	}
	bool last = false;
	if ((r = _wait(enc, m, i, want, &last)) < 0)
		return r;
	if (last) {
		/* The device drained by itself (e.g. a source change): resume. */
		struct v4l2_encoder_cmd cmd = {.cmd = V4L2_ENC_CMD_START};
		cr_v4l2_ioctl(m->fd, VIDIOC_ENCODER_CMD, &cmd);
	}
	return 0;
}

static void _m2m_request_keyframe(struct cr_encoder_s *enc)
{
	struct _m2m_s *m = enc->priv;
	int r = _ctrl(m, V4L2_CID_MPEG_VIDEO_FORCE_KEY_FRAME, 1);
	if (r < 0)
		CR_LOG_ONCE(m->keyframe_logged, CR_LOG_INFO, "v4l2-m2m",
			    "%s (%s) cannot force a keyframe (%s): keyframes come every gop frames", m->path, m->card,
			    strerror(-r));
}

static int _m2m_set_bitrate(struct cr_encoder_s *enc, int64_t bps)
{
	struct _m2m_s *m = enc->priv;
	int r = _ctrl(m, V4L2_CID_MPEG_VIDEO_BITRATE, (int32_t)(bps > INT32_MAX ? INT32_MAX : bps));
	if (r < 0)
		_ERR(enc, "%s (%s) does not take a bitrate: %s", m->path, m->card, strerror(-r));
	return r;
}

/* Drain (V4L2_ENC_CMD_STOP until the LAST buffer), emitting what remains. */
static void _drain(struct cr_encoder_s *enc, struct _m2m_s *m)
{
	if (!m->streaming_out || !m->streaming_cap)
		return;
	struct v4l2_encoder_cmd cmd = {.cmd = V4L2_ENC_CMD_STOP};
	if (cr_v4l2_ioctl(m->fd, VIDIOC_ENCODER_CMD, &cmd) < 0)
		return;
	bool last = false;
	_wait(enc, m, -1, UINT64_MAX, &last);
	if (!last)
		CR_LOG_W("v4l2-m2m", "%s (%s) did not finish draining within %d ms", m->path, m->card, _WAIT_MS);
}

static void _m2m_close(struct cr_encoder_s *enc)
{
	struct _m2m_s *m = enc->priv;
	if (!m)
		return;
	if (m->fd >= 0) {
		_drain(enc, m);
		_out_teardown(enc, m);
		if (m->streaming_cap) {
			uint32_t type = m->cap_type;
			cr_v4l2_ioctl(m->fd, VIDIOC_STREAMOFF, &type);
		}
		_unmap(m->cap, _N_CAP);
		close(m->fd);
	}
	free(m);
	enc->priv = NULL;
}

const struct cr_encoder_ops_s cr_encoder_v4l2_m2m = {
	.name = "v4l2-m2m",
	.hardware = true,
	.codecs = (const enum cr_codec_e[]){CR_CODEC_H264, CR_CODEC_H265, CR_CODEC_VP8, CR_CODEC_VP9, CR_CODEC_MJPEG,
					    CR_CODEC_FWHT, CR_CODEC_NONE},
	.formats = (const enum cr_pixfmt_e[]){CR_PIXFMT_NV12, CR_PIXFMT_YUV420, CR_PIXFMT_YUYV, CR_PIXFMT_NONE},
	.options = _m2m_options,
	.check = _m2m_check,
	.open = _m2m_open,
	.encode = _m2m_encode,
	.request_keyframe = _m2m_request_keyframe,
	.set_bitrate = _m2m_set_bitrate,
	.close = _m2m_close,
};

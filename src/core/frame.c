#include "core/frame.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

atomic_long cr_frames_alive, cr_packets_alive;

static void _heap_release(struct cr_frame_s *f)
{
	free(f);
}

static void _mapped_release(struct cr_frame_s *f)
{
	munmap(f, f->mapped);
}

void cr_frame_free(struct cr_frame_s *f)
{
	if (f->mapped)
		_mapped_release(f);
	else
		_heap_release(f);
}

/* Frames this big get a mapping of their own: freeing one (a pool giving
 * back what a burst made) returns its memory, where malloc would keep it in
 * an arena (glibc's mmap threshold rises to the size of what was freed). */
#define _MAP_FROM (256 * 1024)

void cr_frame_set_planes(struct cr_frame_s *f, uint8_t *base)
{
	int rows[3];
	f->n_planes = cr_pixfmt_planes(f->format, f->width, f->height, f->stride, rows);
	if (f->n_planes == 0) { /* compressed: one opaque plane */
		f->n_planes = 1;
		f->stride[0] = 0;
		f->data[0] = base;
		return;
	}
	uint8_t *p = base;
	for (int i = 0; i < f->n_planes; i++) {
		f->data[i] = p;
		p += (size_t)f->stride[i] * (size_t)rows[i];
	}
	f->size = (size_t)(p - base);
}

struct cr_frame_s *cr_frame_new(enum cr_pixfmt_e fmt, int w, int h, size_t max_size)
{
	size_t size = cr_pixfmt_frame_size(fmt, w, h);
	if (size == 0)
		size = max_size;
	/* One allocation: header then pixels, 64-byte aligned for SIMD. */
	size_t hdr = (sizeof(struct cr_frame_s) + 63) & ~(size_t)63;
	size_t total = (hdr + size + 63) & ~(size_t)63;
	struct cr_frame_s *f = NULL;
	if (total >= _MAP_FROM) {
		void *m = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		f = m == MAP_FAILED ? NULL : m;
	} else
		f = aligned_alloc(64, total);
	if (!f)
		return NULL;
	memset(f, 0, sizeof(*f));
	f->mapped = total >= _MAP_FROM ? total : 0;
	atomic_init(&f->refs, 1);
	f->format = fmt;
	f->width = w;
	f->height = h;
	f->dmabuf_fd = -1;
	f->release = f->mapped ? _mapped_release : _heap_release;
	cr_frame_set_planes(f, (uint8_t *)f + hdr);
	if (cr_pixfmt_frame_size(fmt, w, h) == 0)
		f->size = 0;
	atomic_fetch_add(&cr_frames_alive, 1);
	return f;
}

struct cr_frame_s *cr_frame_wrap(enum cr_pixfmt_e fmt, int w, int h, void *owner,
				 void (*release)(struct cr_frame_s *f))
{
	struct cr_frame_s *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	atomic_init(&f->refs, 1);
	f->format = fmt;
	f->width = w;
	f->height = h;
	f->dmabuf_fd = -1;
	f->owner = owner;
	f->release = release;
	atomic_fetch_add(&cr_frames_alive, 1);
	return f;
}

void cr_frame_reuse(struct cr_frame_s *f)
{
	atomic_init(&f->refs, 1);
	atomic_fetch_add(&cr_frames_alive, 1);
}

void cr_frame_unref(struct cr_frame_s *f)
{
	if (!f)
		return;
	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1) {
		atomic_fetch_sub(&cr_frames_alive, 1);
		f->release(f);
	}
}

struct cr_packet_s *cr_packet_new(enum cr_codec_e codec, size_t size)
{
	struct cr_packet_s *p = malloc(sizeof(*p) + size);
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	atomic_init(&p->refs, 1);
	p->codec = codec;
	p->data = (uint8_t *)(p + 1);
	p->size = size;
	atomic_fetch_add(&cr_packets_alive, 1);
	return p;
}

struct cr_packet_s *cr_packet_wrap_frame(enum cr_codec_e codec, struct cr_frame_s *f)
{
	struct cr_packet_s *p = cr_packet_new(codec, 0);
	if (!p)
		return NULL;
	p->frame = cr_frame_ref(f);
	p->data = f->data[0];
	p->size = f->size;
	p->width = f->width;
	p->height = f->height;
	p->seq = f->seq;
	p->ts_capture_ns = f->ts_capture_ns;
	p->flags = CR_PACKET_KEYFRAME;
	return p;
}

void cr_packet_unref(struct cr_packet_s *p)
{
	if (!p)
		return;
	if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) == 1) {
		atomic_fetch_sub(&cr_packets_alive, 1);
		cr_frame_unref(p->frame);
		free(p);
	}
}

/* Internals shared by the media pipeline files: pipeline.c (planning and
 * TRY negotiation), check.c (validation of the whole pipeline, sibling
 * branches) and controls.c (sub-device controls). Not a public header. */
#ifndef CR_MEDIA_PRIV_H
#define CR_MEDIA_PRIV_H

#include "core/log.h"
#include "core/v4l2_util.h"
#include "media/media.h"

#define CR_MP_MAX_HOPS 16
#define CR_MP_MAX_OPS 96
#define CR_MP_MAX_CODES 64

enum cr_mp_strategy_e { CR_MP_AUTO, CR_MP_QUALITY, CR_MP_SPEED, CR_MP_OFF };

struct cr_mp_hop_s {
	int ent;
	int sink; /* pad index into m->pads, -1 for the head (sensor) */
	int src;
};

struct cr_mp_op_s {
	bool sel; /* selection, else format */
	int pad;
	uint32_t target, flags;
	struct v4l2_mbus_framefmt fmt;
	struct v4l2_rect r;
};

struct cr_mp_ctx_s {
	struct cr_media_s *m;
	const struct cr_media_cfg_s *cfg;
	int video, video_pad;
	int n;
	struct cr_mp_hop_s hop[CR_MP_MAX_HOPS]; /* head first */
	bool *want;                    /* planned link states, by link index */
	bool *fixed;                   /* set by the config's media.links: never chosen automatically */
	int width, height;
	uint32_t fourcc;
	enum cr_mp_strategy_e strategy; /* of the current attempt */
	int n_ops;
	struct cr_mp_op_s ops[CR_MP_MAX_OPS];
	char *err;
	size_t errlen;
	int progress; /* how far the failed attempt that wrote err got */
	bool own_open; /* the capture node's own format is not chosen yet (prepare without size/format) */
};

const char *cr_mp_fourcc_str(uint32_t f, char buf[8]);
/* Message for a link whose ends differ: both formats and what to write. */
void cr_mp_mismatch(struct cr_mp_ctx_s *c, int src, int sink, const struct v4l2_mbus_framefmt *a,
		    const struct v4l2_mbus_framefmt *b, const char *why);
/* The V4L2 format a video node is set to (capture or capture-mplane). */
int cr_mp_video_fmt(const char *node, uint32_t *fourcc, int *w, int *h);
/* Every enabled link of the pipeline (ACTIVE) and the node's own format. */
int cr_mp_validate(struct cr_mp_ctx_s *c, uint32_t fourcc, int w, int h);
/* Branches streaming with the chain get the formats their source pads give:
 * TRY during negotiation (sub-device pads, recorded), ACTIVE after (nodes). */
int cr_mp_sync_siblings(struct cr_mp_ctx_s *c, uint32_t which);
/* Appends one configuration step for the ACTIVE replay. */
int cr_mp_record(struct cr_mp_ctx_s *c, const struct cr_mp_op_s *op);
/* "\"Sensor A\", \"Scaler\", ..." for messages. */
void cr_mp_entity_list(const struct cr_media_s *m, char *out, size_t len);
/* One [[media.controls]] entry on its entity's sub-device node. */
int cr_mp_set_control(struct cr_mp_ctx_s *c, const struct cr_media_control_cfg_s *cc);

#endif

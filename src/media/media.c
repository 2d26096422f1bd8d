/* Media-controller topology, links, sub-device pad formats and selections.
 * The pipeline logic (negotiation, validation) is in pipeline.c. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "media/media.h"

#include "core/log.h"
#include "core/v4l2_util.h"

/* MEDIA_LNK_FL_LINK_TYPE is (0xf << 28), a signed overflow: UBSan flags it. */
#define _LINK_TYPE 0xf0000000u

static const char *_hint(int e)
{
	switch (e) {
	case EACCES:
	case EPERM:
		return "; check the node's permissions (add the user to the video group)";
	case EBUSY:
		return "; the pipeline is streaming (stop the program capturing from it, see: fuser /dev/video*)";
	case ENOTTY:
		return "; the driver does not implement this ioctl";
	case ENODEV:
		return "; the device was unplugged or its driver unloaded";
	default:
		return "";
	}
}

/* "/dev/video0" from a char device number, through sysfs' uevent. */
static void _devnode(uint32_t major, uint32_t minor, char *out, size_t len)
{
	char path[96], line[256];
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/uevent", major, minor);
	out[0] = 0;
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "DEVNAME=", 8) == 0) {
			line[strcspn(line, "\n")] = 0;
			snprintf(out, len, "/dev/%.58s", line + 8);
			break;
		}
	}
	fclose(f);
}

void cr_media_close(struct cr_media_s *m)
{
	if (!m)
		return;
	cr_media_subdev_close_all(m);
	if (m->fd >= 0)
		close(m->fd);
	free(m->ents);
	free(m->pads);
	free(m->links);
	free(m);
}

static int _entity_index(const struct cr_media_s *m, uint32_t id)
{
	for (int i = 0; i < m->n_ents; i++)
		if (m->ents[i].id == id)
			return i;
	return -1;
}

static int _pad_index(const struct cr_media_s *m, uint32_t id)
{
	for (int i = 0; i < m->n_pads; i++)
		if (m->pads[i].id == id)
			return i;
	return -1;
}

/* Reads the topology; the graph can change between the two calls (dynamic
 * entities), so retry until the version is stable. */
static int _read_topology(struct cr_media_s *m, char *err, size_t errlen)
{
	struct media_v2_entity *ents = NULL;
	struct media_v2_interface *intfs = NULL;
	struct media_v2_pad *pads = NULL;
	struct media_v2_link *links = NULL;
	struct media_v2_topology t;
	int rc = -EAGAIN;

	for (int attempt = 0; attempt < 4 && rc == -EAGAIN; attempt++) {
		memset(&t, 0, sizeof(t));
		if ((rc = cr_v4l2_ioctl(m->fd, MEDIA_IOC_G_TOPOLOGY, &t)) < 0) {
			cr_msgf(err, errlen, "MEDIA_IOC_G_TOPOLOGY on %s failed: %s%s", m->path, strerror(-rc), _hint(-rc));
			return rc;
		}
		uint64_t version = t.topology_version;
		free(ents), free(intfs), free(pads), free(links);
		ents = calloc(t.num_entities + 1, sizeof(*ents));
		intfs = calloc(t.num_interfaces + 1, sizeof(*intfs));
		pads = calloc(t.num_pads + 1, sizeof(*pads));
		links = calloc(t.num_links + 1, sizeof(*links));
		if (!ents || !intfs || !pads || !links) {
			rc = -ENOMEM;
			break;
		}
		t.ptr_entities = (uintptr_t)ents;
		t.ptr_interfaces = (uintptr_t)intfs;
		t.ptr_pads = (uintptr_t)pads;
		t.ptr_links = (uintptr_t)links;
		if ((rc = cr_v4l2_ioctl(m->fd, MEDIA_IOC_G_TOPOLOGY, &t)) < 0) {
			if (rc == -ENOSPC) { /* grew in between */
				rc = -EAGAIN;
				continue;
			}
			cr_msgf(err, errlen, "MEDIA_IOC_G_TOPOLOGY on %s failed: %s", m->path, strerror(-rc));
			break;
		}
		rc = t.topology_version == version ? 0 : -EAGAIN;
	}
	if (rc < 0) {
		if (rc == -ENOMEM || rc == -EAGAIN)
			cr_msgf(err, errlen, "reading the topology of %s failed: %s", m->path,
				rc == -ENOMEM ? "out of memory" : "it kept changing");
		goto out;
	}

	m->ents = calloc(t.num_entities + 1, sizeof(*m->ents));
	m->pads = calloc(t.num_pads + 1, sizeof(*m->pads));
	m->links = calloc(t.num_links + 1, sizeof(*m->links));
	if (!m->ents || !m->pads || !m->links) {
		rc = -ENOMEM;
		cr_msgf(err, errlen, "out of memory reading %s", m->path);
		goto out;
	}
	for (uint32_t i = 0; i < t.num_entities; i++) {
		struct cr_media_entity_s *e = &m->ents[m->n_ents++];
		e->id = ents[i].id;
		snprintf(e->name, sizeof(e->name), "%.*s", (int)sizeof(ents[i].name), ents[i].name);
		e->function = ents[i].function;
		e->flags = MEDIA_V2_ENTITY_HAS_FLAGS(m->media_version) ? ents[i].flags : 0;
		e->fd = -1;
	}
	for (uint32_t i = 0; i < t.num_pads; i++) {
		int ent = _entity_index(m, pads[i].entity_id);
		if (ent < 0)
			continue;
		struct cr_media_pad_s *p = &m->pads[m->n_pads++];
		p->id = pads[i].id;
		p->entity = ent;
		p->flags = pads[i].flags;
		/* Before 4.19 pads come in index order per entity. */
		p->index = MEDIA_V2_PAD_HAS_INDEX(m->media_version) ? (int)pads[i].index : m->ents[ent].n_pads;
		m->ents[ent].n_pads++;
	}
	for (uint32_t i = 0; i < t.num_links; i++) {
		uint32_t type = links[i].flags & _LINK_TYPE;
		if (type == MEDIA_LNK_FL_INTERFACE_LINK) {
			/* interface -> entity: the entity's device node */
			int ent = _entity_index(m, links[i].sink_id);
			for (uint32_t j = 0; ent >= 0 && j < t.num_interfaces; j++) {
				if (intfs[j].id != links[i].source_id)
					continue;
				m->ents[ent].intf_type = intfs[j].intf_type;
				_devnode(intfs[j].devnode.major, intfs[j].devnode.minor, m->ents[ent].devnode,
					 sizeof(m->ents[ent].devnode));
			}
			continue;
		}
		if (type != MEDIA_LNK_FL_DATA_LINK)
			continue;
		int src = _pad_index(m, links[i].source_id), snk = _pad_index(m, links[i].sink_id);
		if (src < 0 || snk < 0)
			continue;
		struct cr_media_link_s *l = &m->links[m->n_links++];
		l->id = links[i].id;
		l->source = src;
		l->sink = snk;
		l->flags = links[i].flags;
	}
	rc = 0;
out:
	free(ents), free(intfs), free(pads), free(links);
	return rc;
}

int cr_media_open(const char *path, struct cr_media_s **out, char *err, size_t errlen)
{
	*out = NULL;
	struct cr_media_s *m = calloc(1, sizeof(*m));
	if (!m) {
		cr_msgf(err, errlen, "out of memory opening %s", path);
		return -ENOMEM;
	}
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->fd = open(path, O_RDWR | O_CLOEXEC);
	if (m->fd < 0) {
		int e = errno;
		cr_msgf(err, errlen, "cannot open media device %s: %s%s", path, strerror(e), _hint(e));
		free(m);
		return -e;
	}
	struct media_device_info info;
	memset(&info, 0, sizeof(info));
	int rc = cr_v4l2_ioctl(m->fd, MEDIA_IOC_DEVICE_INFO, &info);
	if (rc < 0) {
		cr_msgf(err, errlen, "MEDIA_IOC_DEVICE_INFO on %s failed: %s (is it a media device?)", path, strerror(-rc));
		cr_media_close(m);
		return rc;
	}
	snprintf(m->driver, sizeof(m->driver), "%.*s", (int)sizeof(info.driver), info.driver);
	snprintf(m->model, sizeof(m->model), "%.*s", (int)sizeof(info.model), info.model);
	snprintf(m->serial, sizeof(m->serial), "%.*s", (int)sizeof(info.serial), info.serial);
	snprintf(m->bus_info, sizeof(m->bus_info), "%.*s", (int)sizeof(info.bus_info), info.bus_info);
	m->media_version = info.media_version;
	m->hw_revision = info.hw_revision;
	m->driver_version = info.driver_version;
	if ((rc = _read_topology(m, err, errlen)) < 0) {
		cr_media_close(m);
		return rc;
	}
	*out = m;
	return 0;
}

static int _num_cmp(const void *a, const void *b)
{
	const char *x = a, *y = b;
	size_t lx = strlen(x), ly = strlen(y);
	return lx != ly ? (lx < ly ? -1 : 1) : strcmp(x, y);
}

int cr_media_list_devices(char (*out)[64], int max)
{
	DIR *d = opendir("/dev");
	if (!d)
		return 0;
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) && n < max) {
		if (strncmp(de->d_name, "media", 5) == 0 && de->d_name[5] >= '0' && de->d_name[5] <= '9')
			snprintf(out[n++], 64, "/dev/%.50s", de->d_name);
	}
	closedir(d);
	qsort(out, (size_t)n, 64, _num_cmp);
	return n;
}

int cr_media_find_for_video(const char *video_node, struct cr_media_s **out, int *entity, char *err,
			    size_t errlen)
{
	struct stat st;
	*out = NULL;
	if (stat(video_node, &st) < 0) {
		int e = errno;
		cr_msgf(err, errlen, "cannot find %s: %s", video_node, strerror(e));
		return -e;
	}
	if (!S_ISCHR(st.st_mode)) {
		cr_msgf(err, errlen, "%s is not a device node", video_node);
		return -ENODEV;
	}
	char want[64], devs[32][64];
	_devnode(major(st.st_rdev), minor(st.st_rdev), want, sizeof(want));
	int n = cr_media_list_devices(devs, 32);
	for (int i = 0; i < n; i++) {
		struct cr_media_s *m;
		if (cr_media_open(devs[i], &m, NULL, 0) < 0)
			continue;
		for (int e = 0; e < m->n_ents; e++) {
			if (m->ents[e].intf_type == MEDIA_INTF_T_V4L_VIDEO && want[0] &&
			    strcmp(m->ents[e].devnode, want) == 0) {
				*out = m;
				*entity = e;
				return 1;
			}
		}
		cr_media_close(m);
	}
	return 0;
}

int cr_media_entity_by_name(const struct cr_media_s *m, const char *name)
{
	for (int i = 0; i < m->n_ents; i++)
		if (strcmp(m->ents[i].name, name) == 0)
			return i;
	return -1;
}

int cr_media_pad(const struct cr_media_s *m, int entity, int index)
{
	for (int i = 0; i < m->n_pads; i++)
		if (m->pads[i].entity == entity && m->pads[i].index == index)
			return i;
	return -1;
}

int cr_media_link_between(const struct cr_media_s *m, int source_pad, int sink_pad)
{
	for (int i = 0; i < m->n_links; i++)
		if (m->links[i].source == source_pad && m->links[i].sink == sink_pad)
			return i;
	return -1;
}

bool cr_media_is_subdev(const struct cr_media_s *m, int entity)
{
	return m->ents[entity].intf_type == MEDIA_INTF_T_V4L_SUBDEV && m->ents[entity].devnode[0];
}

const char *cr_media_pad_str(const struct cr_media_s *m, int pad, char *buf, size_t len)
{
	if (pad < 0 || pad >= m->n_pads)
		snprintf(buf, len, "?");
	else
		snprintf(buf, len, "\"%s\":%d", m->ents[m->pads[pad].entity].name, m->pads[pad].index);
	return buf;
}

const char *cr_media_fmt_str(const struct v4l2_mbus_framefmt *f, char *buf, size_t len)
{
	const char *name = cr_mbus_name(f->code);
	char code[16];
	if (!name) {
		snprintf(code, sizeof(code), "0x%04x", f->code);
		name = code;
	}
	snprintf(buf, len, "%s/%ux%u%s", name, f->width, f->height,
		 f->field == V4L2_FIELD_NONE || f->field == V4L2_FIELD_ANY ? "" : " (interlaced)");
	return buf;
}

int cr_media_setup_link(struct cr_media_s *m, int link, bool enable, char *err, size_t errlen)
{
	struct cr_media_link_s *l = &m->links[link];
	char a[96], b[96];
	cr_media_pad_str(m, l->source, a, sizeof(a));
	cr_media_pad_str(m, l->sink, b, sizeof(b));
	if (!!(l->flags & MEDIA_LNK_FL_ENABLED) == enable)
		return 0;
	if (l->flags & MEDIA_LNK_FL_IMMUTABLE) {
		cr_msgf(err, errlen,
			"link %s -> %s is immutable (always %s): the driver does not allow %s it; remove it from "
			"media.links",
			a, b, l->flags & MEDIA_LNK_FL_ENABLED ? "enabled" : "disabled", enable ? "enabling" : "disabling");
		return -EPERM;
	}
	struct media_link_desc d;
	memset(&d, 0, sizeof(d));
	d.source.entity = m->ents[m->pads[l->source].entity].id;
	d.source.index = (uint16_t)m->pads[l->source].index;
	d.source.flags = MEDIA_PAD_FL_SOURCE;
	d.sink.entity = m->ents[m->pads[l->sink].entity].id;
	d.sink.index = (uint16_t)m->pads[l->sink].index;
	d.sink.flags = MEDIA_PAD_FL_SINK;
	d.flags = (l->flags & ~(uint32_t)MEDIA_LNK_FL_ENABLED) | (enable ? MEDIA_LNK_FL_ENABLED : 0);
	d.flags &= ~_LINK_TYPE;
	int rc = cr_v4l2_ioctl(m->fd, MEDIA_IOC_SETUP_LINK, &d);
	if (rc < 0) {
		cr_msgf(err, errlen, "MEDIA_IOC_SETUP_LINK on %s (%s link %s -> %s) failed: %s%s", m->path,
			enable ? "enabling" : "disabling", a, b, strerror(-rc), _hint(-rc));
		return rc;
	}
	l->flags = d.flags;
	return 0;
}

int cr_media_subdev_fd(struct cr_media_s *m, int entity, char *err, size_t errlen)
{
	struct cr_media_entity_s *e = &m->ents[entity];
	if (e->fd >= 0)
		return e->fd;
	if (!cr_media_is_subdev(m, entity)) {
		cr_msgf(err, errlen,
			"entity \"%s\" of %s has no sub-device node (the driver does not expose it, or the kernel "
			"lacks CONFIG_VIDEO_V4L2_SUBDEV_API)",
			e->name, m->path);
		return -ENODEV;
	}
	e->fd = open(e->devnode, O_RDWR | O_CLOEXEC);
	if (e->fd < 0) {
		int x = errno;
		cr_msgf(err, errlen, "cannot open %s (entity \"%s\"): %s%s", e->devnode, e->name, strerror(x), _hint(x));
		return -x;
	}
	return e->fd;
}

void cr_media_subdev_close_all(struct cr_media_s *m)
{
	for (int i = 0; i < m->n_ents; i++) {
		if (m->ents[i].fd >= 0)
			close(m->ents[i].fd);
		m->ents[i].fd = -1;
	}
}

static const char *_which(uint32_t which)
{
	return which == V4L2_SUBDEV_FORMAT_TRY ? "TRY" : "ACTIVE";
}

static int _pad_ioctl(struct cr_media_s *m, int pad, unsigned long req, const char *req_name, void *arg,
		      char *err, size_t errlen, const char *what)
{
	int ent = m->pads[pad].entity;
	int fd = cr_media_subdev_fd(m, ent, err, errlen);
	if (fd < 0)
		return fd;
	int rc = cr_v4l2_ioctl(fd, req, arg);
	if (rc < 0) {
		char p[96];
		cr_msgf(err, errlen, "%s on %s (pad %s, %s) failed: %s%s", req_name, m->ents[ent].devnode,
			cr_media_pad_str(m, pad, p, sizeof(p)), what, strerror(-rc), _hint(-rc));
	}
	return rc;
}

int cr_media_get_fmt(struct cr_media_s *m, int pad, uint32_t which, struct v4l2_mbus_framefmt *fmt, char *err,
		     size_t errlen)
{
	struct v4l2_subdev_format f;
	memset(&f, 0, sizeof(f));
	f.which = which;
	f.pad = (uint32_t)m->pads[pad].index;
	int rc = _pad_ioctl(m, pad, VIDIOC_SUBDEV_G_FMT, "VIDIOC_SUBDEV_G_FMT", &f, err, errlen, _which(which));
	if (rc == 0)
		*fmt = f.format;
	return rc;
}

int cr_media_set_fmt(struct cr_media_s *m, int pad, uint32_t which, struct v4l2_mbus_framefmt *fmt, char *err,
		     size_t errlen)
{
	struct v4l2_subdev_format f;
	char what[96], s[48];
	memset(&f, 0, sizeof(f));
	f.which = which;
	f.pad = (uint32_t)m->pads[pad].index;
	f.format = *fmt;
	snprintf(what, sizeof(what), "%s %s", _which(which), cr_media_fmt_str(fmt, s, sizeof(s)));
	int rc = _pad_ioctl(m, pad, VIDIOC_SUBDEV_S_FMT, "VIDIOC_SUBDEV_S_FMT", &f, err, errlen, what);
	if (rc == 0)
		*fmt = f.format;
	return rc;
}

static const char *_target(uint32_t t)
{
	switch (t) {
	case V4L2_SEL_TGT_CROP: return "crop";
	case V4L2_SEL_TGT_CROP_BOUNDS: return "crop bounds";
	case V4L2_SEL_TGT_COMPOSE: return "compose";
	case V4L2_SEL_TGT_COMPOSE_BOUNDS: return "compose bounds";
	default: return "selection";
	}
}

int cr_media_get_sel(struct cr_media_s *m, int pad, uint32_t which, uint32_t target, struct v4l2_rect *r,
		     char *err, size_t errlen)
{
	struct v4l2_subdev_selection s;
	char what[64];
	memset(&s, 0, sizeof(s));
	s.which = which;
	s.pad = (uint32_t)m->pads[pad].index;
	s.target = target;
	snprintf(what, sizeof(what), "%s %s", _which(which), _target(target));
	int rc = _pad_ioctl(m, pad, VIDIOC_SUBDEV_G_SELECTION, "VIDIOC_SUBDEV_G_SELECTION", &s, err, errlen, what);
	if (rc == 0)
		*r = s.r;
	return rc;
}

int cr_media_set_sel(struct cr_media_s *m, int pad, uint32_t which, uint32_t target, uint32_t flags,
		     struct v4l2_rect *r, char *err, size_t errlen)
{
	struct v4l2_subdev_selection s;
	char what[128];
	memset(&s, 0, sizeof(s));
	s.which = which;
	s.pad = (uint32_t)m->pads[pad].index;
	s.target = target;
	s.flags = flags;
	s.r = *r;
	snprintf(what, sizeof(what), "%s %s (%d,%d)/%ux%u", _which(which), _target(target), r->left, r->top, r->width,
		 r->height);
	int rc = _pad_ioctl(m, pad, VIDIOC_SUBDEV_S_SELECTION, "VIDIOC_SUBDEV_S_SELECTION", &s, err, errlen, what);
	if (rc == 0)
		*r = s.r;
	return rc;
}

const char *cr_media_function_name(uint32_t f)
{
	switch (f) {
	case MEDIA_ENT_F_IO_V4L: return "V4L2 I/O";
	case MEDIA_ENT_F_IO_VBI: return "VBI I/O";
	case MEDIA_ENT_F_CAM_SENSOR: return "Camera Sensor";
	case MEDIA_ENT_F_FLASH: return "Flash Controller";
	case MEDIA_ENT_F_LENS: return "Lens Controller";
	case MEDIA_ENT_F_TUNER: return "Tuner";
	case MEDIA_ENT_F_ATV_DECODER: return "Analog Video Decoder";
	case MEDIA_ENT_F_PROC_VIDEO_COMPOSER: return "Video Composer";
	case MEDIA_ENT_F_PROC_VIDEO_PIXEL_FORMATTER: return "Video Pixel Formatter";
	case MEDIA_ENT_F_PROC_VIDEO_PIXEL_ENC_CONV: return "Video Pixel Encoding Converter";
	case MEDIA_ENT_F_PROC_VIDEO_LUT: return "Video Look-Up Table";
	case MEDIA_ENT_F_PROC_VIDEO_SCALER: return "Video Scaler";
	case MEDIA_ENT_F_PROC_VIDEO_STATISTICS: return "Video Statistics";
	case MEDIA_ENT_F_PROC_VIDEO_ISP: return "Image Signal Processor";
	case MEDIA_ENT_F_VID_MUX: return "Video Multiplexer";
	case MEDIA_ENT_F_VID_IF_BRIDGE: return "Video Interface Bridge";
	case MEDIA_ENT_F_DV_DECODER: return "Digital Video Decoder";
	case MEDIA_ENT_F_DV_ENCODER: return "Digital Video Encoder";
	case MEDIA_ENT_F_V4L2_SUBDEV_UNKNOWN: return "V4L2 Sub-device";
	default: return "Unknown";
	}
}

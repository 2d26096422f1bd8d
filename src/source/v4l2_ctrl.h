/* V4L2 controls by name: listing (VIDIOC_QUERY_EXT_CTRL), reading and setting
 * from text, with messages that say what the device accepts. Used by the
 * capture source (config and run-time controls) and `camrelay probe`. */
#ifndef CR_V4L2_CTRL_H
#define CR_V4L2_CTRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cr_v4l2_ctrl_s {
	uint32_t id, type, flags; /* V4L2_CTRL_TYPE_*, V4L2_CTRL_FLAG_* */
	char name[64];            /* normalised: "white_balance_automatic" */
	char label[32];           /* as the driver names it: "White Balance, Automatic" */
	int64_t min, max, step, def, value;
	bool has_value; /* false for write-only controls and buttons */
	char text[64];  /* string value, or the current menu item's name */
};

/* The device's plain controls (no class headings, disabled, compound or
 * array controls), with current values. Returns the count or -errno. */
int cr_v4l2_ctrl_list(int fd, struct cr_v4l2_ctrl_s *out, int max);

/* Name of menu item `index` (integer menus: the number as text); -errno if
 * the driver skips that index. */
int cr_v4l2_ctrl_menu_item(int fd, const struct cr_v4l2_ctrl_s *c, int64_t index, char *out,
			   size_t n);

/* Sets control `name` (normalised or as the driver labels it) from text:
 * integers, true/false/on/off for booleans, item names or indices for menus,
 * anything for buttons. On failure -errno and a message in err: unknown name
 * (with the names available), value out of range (with the range), read-only,
 * inactive or busy. */
int cr_v4l2_ctrl_set(int fd, const char *dev, const char *name, const char *value, char *err,
		     size_t errlen);

/* "int", "bool", "menu", "intmenu", "button", "int64", "string", "bitmask". */
const char *cr_v4l2_ctrl_type_name(uint32_t type);

#endif

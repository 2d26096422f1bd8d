/* Media bus format names and the V4L2 pixel formats they carry.
 *
 * The name table is in mbus_names.h. */
#include <linux/media-bus-format.h>
#include <linux/videodev2.h>
#include <string.h>
#include <strings.h>

#include "media/media.h"
#include "media/mbus_names.h"

/* Bus codes whose samples a capture DMA engine writes as this pixel format
 * (first = preferred when camrelay chooses). */
static const struct {
	uint32_t code, fourcc;
} _fourccs[] = {
	{MEDIA_BUS_FMT_RGB888_1X24, V4L2_PIX_FMT_RGB24},
	{MEDIA_BUS_FMT_RGB888_3X8, V4L2_PIX_FMT_RGB24},
	{MEDIA_BUS_FMT_RGB888_2X12_BE, V4L2_PIX_FMT_RGB24},
	{MEDIA_BUS_FMT_RGB888_2X12_LE, V4L2_PIX_FMT_RGB24},
	{MEDIA_BUS_FMT_BGR888_1X24, V4L2_PIX_FMT_BGR24},
	{MEDIA_BUS_FMT_BGR888_3X8, V4L2_PIX_FMT_BGR24},
	{MEDIA_BUS_FMT_ARGB8888_1X32, V4L2_PIX_FMT_ARGB32},
	{MEDIA_BUS_FMT_RGB565_1X16, V4L2_PIX_FMT_RGB565},
	{MEDIA_BUS_FMT_RGB565_2X8_LE, V4L2_PIX_FMT_RGB565},
	{MEDIA_BUS_FMT_YUYV8_1X16, V4L2_PIX_FMT_YUYV},
	{MEDIA_BUS_FMT_YUYV8_2X8, V4L2_PIX_FMT_YUYV},
	{MEDIA_BUS_FMT_UYVY8_1X16, V4L2_PIX_FMT_UYVY},
	{MEDIA_BUS_FMT_UYVY8_2X8, V4L2_PIX_FMT_UYVY},
	{MEDIA_BUS_FMT_YVYU8_1X16, V4L2_PIX_FMT_YVYU},
	{MEDIA_BUS_FMT_YVYU8_2X8, V4L2_PIX_FMT_YVYU},
	{MEDIA_BUS_FMT_VYUY8_1X16, V4L2_PIX_FMT_VYUY},
	{MEDIA_BUS_FMT_VYUY8_2X8, V4L2_PIX_FMT_VYUY},
	{MEDIA_BUS_FMT_Y8_1X8, V4L2_PIX_FMT_GREY},
	{MEDIA_BUS_FMT_Y10_1X10, V4L2_PIX_FMT_Y10},
	{MEDIA_BUS_FMT_Y12_1X12, V4L2_PIX_FMT_Y12},
	{MEDIA_BUS_FMT_SBGGR8_1X8, V4L2_PIX_FMT_SBGGR8},
	{MEDIA_BUS_FMT_SGBRG8_1X8, V4L2_PIX_FMT_SGBRG8},
	{MEDIA_BUS_FMT_SGRBG8_1X8, V4L2_PIX_FMT_SGRBG8},
	{MEDIA_BUS_FMT_SRGGB8_1X8, V4L2_PIX_FMT_SRGGB8},
	{MEDIA_BUS_FMT_SBGGR10_1X10, V4L2_PIX_FMT_SBGGR10},
	{MEDIA_BUS_FMT_SGBRG10_1X10, V4L2_PIX_FMT_SGBRG10},
	{MEDIA_BUS_FMT_SGRBG10_1X10, V4L2_PIX_FMT_SGRBG10},
	{MEDIA_BUS_FMT_SRGGB10_1X10, V4L2_PIX_FMT_SRGGB10},
	{MEDIA_BUS_FMT_SBGGR10_ALAW8_1X8, V4L2_PIX_FMT_SBGGR10ALAW8},
	{MEDIA_BUS_FMT_SGBRG10_ALAW8_1X8, V4L2_PIX_FMT_SGBRG10ALAW8},
	{MEDIA_BUS_FMT_SGRBG10_ALAW8_1X8, V4L2_PIX_FMT_SGRBG10ALAW8},
	{MEDIA_BUS_FMT_SRGGB10_ALAW8_1X8, V4L2_PIX_FMT_SRGGB10ALAW8},
	{MEDIA_BUS_FMT_SBGGR10_DPCM8_1X8, V4L2_PIX_FMT_SBGGR10DPCM8},
	{MEDIA_BUS_FMT_SGBRG10_DPCM8_1X8, V4L2_PIX_FMT_SGBRG10DPCM8},
	{MEDIA_BUS_FMT_SGRBG10_DPCM8_1X8, V4L2_PIX_FMT_SGRBG10DPCM8},
	{MEDIA_BUS_FMT_SRGGB10_DPCM8_1X8, V4L2_PIX_FMT_SRGGB10DPCM8},
	{MEDIA_BUS_FMT_SBGGR12_1X12, V4L2_PIX_FMT_SBGGR12},
	{MEDIA_BUS_FMT_SGBRG12_1X12, V4L2_PIX_FMT_SGBRG12},
	{MEDIA_BUS_FMT_SGRBG12_1X12, V4L2_PIX_FMT_SGRBG12},
	{MEDIA_BUS_FMT_SRGGB12_1X12, V4L2_PIX_FMT_SRGGB12},
	{MEDIA_BUS_FMT_JPEG_1X8, V4L2_PIX_FMT_JPEG},
};

const char *cr_mbus_name(uint32_t code)
{
	for (size_t i = 0; i < sizeof(cr_mbus_names) / sizeof(cr_mbus_names[0]); i++)
		if (cr_mbus_names[i].code == code)
			return cr_mbus_names[i].name;
	return NULL;
}

uint32_t cr_mbus_from_name(const char *name)
{
	return cr_mbus_code_of_name(name);
}

uint32_t cr_mbus_to_fourcc(uint32_t code)
{
	for (size_t i = 0; i < sizeof(_fourccs) / sizeof(_fourccs[0]); i++)
		if (_fourccs[i].code == code)
			return _fourccs[i].fourcc;
	return 0;
}

uint32_t cr_mbus_from_fourcc(uint32_t fourcc, int n)
{
	for (size_t i = 0; i < sizeof(_fourccs) / sizeof(_fourccs[0]); i++)
		if (_fourccs[i].fourcc == fourcc && n-- == 0)
			return _fourccs[i].code;
	return 0;
}

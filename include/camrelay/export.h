/* Marks the functions of camrelay's public API. libcamrelay is compiled with
 * -fvisibility=hidden and a version script, so only what carries this mark
 * (and matches the script) is exported. */
#ifndef CAMRELAY_EXPORT_H
#define CAMRELAY_EXPORT_H

#if defined(__GNUC__) || defined(__clang__)
#define CAMRELAY_API __attribute__((visibility("default")))
#else
#define CAMRELAY_API
#endif

#endif

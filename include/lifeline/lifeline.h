/* lifeline: keep long-running Linux services alive and debuggable.
 *
 * Umbrella header. Every function of liblifeline is prefixed ll_ and, unless
 * its comment says otherwise, returns 0 (or a non-negative count) on success
 * and a negative errno value on failure. */
#ifndef LIFELINE_LIFELINE_H
#define LIFELINE_LIFELINE_H

#ifdef __cplusplus
extern "C" {
#endif

/** Version string of the library, e.g. "0.1.0". Never NULL. */
const char *ll_version(void);

#ifdef __cplusplus
}
#endif

#endif

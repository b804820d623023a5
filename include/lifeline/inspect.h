/* lifeline inspect module: readers for /proc/PID/maps, smaps and fd, ELF and
 * core files, and the symbolizer and disassembler. This umbrella header
 * includes each part; see the part headers for the documentation. */
#ifndef LIFELINE_INSPECT_H
#define LIFELINE_INSPECT_H

#include <lifeline/lifeline.h>
#include <lifeline/inspect/maps.h>
#include <lifeline/inspect/symbolize.h>
#include <lifeline/inspect/fds.h>
#include <lifeline/inspect/core.h>

#endif

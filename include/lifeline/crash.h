/* lifeline/crash.h: (being written) */
#ifndef LIFELINE_CRASH_H
#define LIFELINE_CRASH_H

#endif

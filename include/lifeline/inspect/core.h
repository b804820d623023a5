/* lifeline/inspect/core.h: (being written) */
#ifndef LIFELINE_INSPECT_CORE_H
#define LIFELINE_INSPECT_CORE_H

#endif

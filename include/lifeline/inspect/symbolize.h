/* lifeline/inspect/symbolize.h: (being written) */
#ifndef LIFELINE_INSPECT_SYMBOLIZE_H
#define LIFELINE_INSPECT_SYMBOLIZE_H

#endif

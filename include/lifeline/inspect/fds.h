/* lifeline/inspect/fds.h: (being written) */
#ifndef LIFELINE_INSPECT_FDS_H
#define LIFELINE_INSPECT_FDS_H

#endif

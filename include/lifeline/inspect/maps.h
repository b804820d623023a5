/* lifeline/inspect/maps.h: (being written) */
#ifndef LIFELINE_INSPECT_MAPS_H
#define LIFELINE_INSPECT_MAPS_H

#endif

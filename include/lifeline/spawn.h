/* lifeline/spawn.h: (being written) */
#ifndef LIFELINE_SPAWN_H
#define LIFELINE_SPAWN_H

#endif

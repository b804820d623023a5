/* lifeline/store.h: (being written) */
#ifndef LIFELINE_STORE_H
#define LIFELINE_STORE_H

#endif

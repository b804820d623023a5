/* lifeline/plugin.h: (being written) */
#ifndef LIFELINE_PLUGIN_H
#define LIFELINE_PLUGIN_H

#endif

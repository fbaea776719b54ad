// gaze_version(): the project version CMake passes in (project(gaze VERSION ...)).
#include "gaze.h"

#ifndef GAZE_VERSION_STRING
#define GAZE_VERSION_STRING "unknown"   // built outside CMake (tests/fuzz/fuzz.mk)
#endif

const char * gaze_version(void) { return GAZE_VERSION_STRING; }

// gaze_version(): the project version CMake passes in (project(gaze VERSION ...)).
#include "gaze.h"

#ifndef GAZE_VERSION_STRING
#error "GAZE_VERSION_STRING is set by CMakeLists.txt from the project version"
#endif

const char * gaze_version(void) { return GAZE_VERSION_STRING; }

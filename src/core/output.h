// Writing an output file safely (core/output.c): every writer of the library (run files, HTML,
// figures, corpus statistics) goes through this stream, so they all treat targets alike:
//   - "-" (and /dev/stdout, /dev/fd/1) is standard output, written in place;
//   - a device, FIFO or other non-regular file is opened and written in place, never replaced,
//     and so is an open file named through /proc or /dev/fd (/dev/stderr, /dev/fd/3);
//   - a symlink is followed and its target replaced;
//   - a regular file is replaced atomically: a temporary PATH.tmp-PID-N beside the real target,
//     given the old file's mode and owner, fsync'd, then renamed over it;
//   - a regular file with other hard links is rewritten in place, so every name sees the new
//     content (not atomic: a failure leaves it incomplete, and the error says so);
//   - temporaries of processes that no longer exist (PATH.tmp-PID-N) are removed on the next write.
// Messages name the user's path and the system's reason, never the temporary file.
#ifndef GAZE_CORE_OUTPUT_H
#define GAZE_CORE_OUTPUT_H

#include "core/core.h"

struct gaze_output;

// Opens path for writing (see above). On success *out is the stream; finish it with exactly one
// of gaze_output_commit or gaze_output_abort.
enum gaze_status gaze_output_open(struct gaze_output ** out, const char * path);
enum gaze_status gaze_output_write(struct gaze_output * o, const void * buf, size_t n);
// Makes the written bytes the file's content and frees o (also on failure, after cleaning up).
enum gaze_status gaze_output_commit(struct gaze_output * o);
// Drops what was written (removes the temporary file) and frees o; NULL is a no-op.
void gaze_output_abort(struct gaze_output * o);

#endif

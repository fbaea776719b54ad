// Llama-family decoders from GGUF files. (In progress: the loader lands with the GGUF reader.)
#include "models/model.h"

enum gaze_status llama_load(struct gaze_model * model, const char * gguf_path) {
    (void)model;
    return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: GGUF decoders are not supported by this build yet", gguf_path);
}

// Hugging Face tokenizer.json BPE models.
#include "core/core.h"
#include "text/tokenizer.h"

enum gaze_status tok_json_bpe(const json_t * root, const char * label, const struct tok_config * cfg,
                              struct gaze_bpe ** out, struct tok_json_info * info) {
    (void)root; (void)cfg; (void)out; (void)info;
    return gaze_error(GAZE_ERR_UNSUPPORTED, "%s: BPE tokenizer.json is not supported yet", label);
}

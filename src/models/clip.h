// Internal: CLIP's text tower and projections (models/clip_text.c), held by the CLIP vision
// model (models/vit.c) when the folder is a whole CLIPModel.
#ifndef GAZE_MODELS_CLIP_H
#define GAZE_MODELS_CLIP_H
#include "models/encoder.h"
#include <jansson.h>

struct clip_text;
// The text tower, text_projection, visual_projection and logit_scale of the CLIPModel in
// folder (cfg: its config.json; st: its open weights, borrowed; Cv: the vision width). A
// missing or unsupported tokenizer does not fail the load: text runs refuse with its message.
enum gaze_status clip_text_load(struct clip_text ** out, const char * folder, const json_t * cfg,
                                struct gaze_safetensors * st, int64_t Cv, bool siglip);
void clip_text_free(struct clip_text * ct);
// model->run of a CLIPModel: the text tower on text (pair must be NULL).
enum gaze_status clip_text_run(struct gaze_model * model, const char * text, const char * pair,
                               const struct gaze_run_opts * opts, struct gaze_run * run);
// The CLIP text part of a CLIP vision model, NULL for any other model (models/vit.c).
const struct clip_text * vit_clip_text(const struct gaze_model * model);
#endif

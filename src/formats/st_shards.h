// Internal: the weights of a Hugging Face folder as one set of safetensors files: the folder's
// model.safetensors, or the shards its model.safetensors.index.json lists (every shard opened
// once, every tensor the index names checked to be in the shard it names). Decoders
// (models/decoder_hf.c) and encoder-decoders (models/seq2seq.c through enc_weights) share it.
#ifndef GAZE_FORMATS_ST_SHARDS_H
#define GAZE_FORMATS_ST_SHARDS_H
#include "gaze.h"

#define ST_MAX_SHARDS 256

struct st_shards {
    struct gaze_safetensors * files[ST_MAX_SHARDS];
    int n;
    char label[4200];        // model.safetensors, or the index's path (for messages)
};

// Opens folder's weights into *set (zeroed first). On failure the files opened so far are closed.
enum gaze_status st_shards_open(struct st_shards * set, const char * folder);
void st_shards_close(struct st_shards * set);
const struct gaze_st_tensor * st_shards_find(const struct st_shards * set, const char * name);
#endif

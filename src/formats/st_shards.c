// The weights of a Hugging Face folder, single file or sharded (formats/st_shards.h).
#include "core/core.h"
#include "formats/st_shards.h"
#include "formats/json.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct gaze_st_tensor * st_shards_find(const struct st_shards * set, const char * name) {
    for (int i = 0; i < set->n; i++) {
        const struct gaze_st_tensor * t = gaze_safetensors_find(set->files[i], name);
        if (t) return t;
    }
    return NULL;
}

void st_shards_close(struct st_shards * set) {
    for (int i = 0; i < set->n; i++) gaze_safetensors_free(set->files[i]);
    set->n = 0;
}

enum gaze_status st_shards_open(struct st_shards * set, const char * folder) {
    memset(set, 0, sizeof *set);
    char * path = set->label;
    snprintf(path, sizeof set->label, "%s/model.safetensors", folder);
    FILE * f = fopen(path, "rb");
    if (f) {
        fclose(f);
        enum gaze_status s = gaze_safetensors_open(&set->files[0], path);
        if (!s) set->n = 1;
        return s;
    }
    snprintf(path, sizeof set->label, "%s/model.safetensors.index.json", folder);
    json_t * idx = NULL, * map = NULL;
    enum gaze_status s = gaze_json_load_file(&idx, path, 64 << 20, 0);
    if (s == GAZE_ERR_IO) return gaze_error(GAZE_ERR_IO, "%s: no model.safetensors or model.safetensors.index.json", folder);
    if (!s) s = gaze_json_get_object(idx, "weight_map", path, &map);
    const char * key;
    json_t * v;
    json_object_foreach(map, key, v) {
        if (s) break;
        const char * file = json_string_value(v);
        if (!file || !*file || strchr(file, '/') || !strcmp(file, "..") || strlen(file) > 255) {
            char esc[96];
            gaze_term_escape(esc, sizeof esc, key, strlen(key));
            s = gaze_error(GAZE_ERR_FORMAT, "%s: weight_map[\"%s\"]: expected a file name in the folder", path, esc);
            break;
        }
        bool seen = false;
        char sp[4500];
        snprintf(sp, sizeof sp, "%s/%s", folder, file);
        for (int i = 0; i < set->n && !seen; i++) seen = !strcmp(gaze_safetensors_path(set->files[i]), sp);
        if (seen) continue;
        if (set->n == ST_MAX_SHARDS) { s = gaze_error(GAZE_ERR_LIMIT, "%s: more than %d shards", path, ST_MAX_SHARDS); break; }
        s = gaze_safetensors_open(&set->files[set->n], sp);
        if (!s) set->n++;
    }
    // every tensor the index names is in the shard it names
    json_object_foreach(map, key, v) {
        if (s) break;
        const char * file = json_string_value(v);
        char sp[4500];
        snprintf(sp, sizeof sp, "%s/%s", folder, file);
        const struct gaze_st_tensor * t = NULL;
        for (int i = 0; i < set->n && !t; i++)
            if (!strcmp(gaze_safetensors_path(set->files[i]), sp)) t = gaze_safetensors_find(set->files[i], key);
        if (!t) {
            char esc[96];
            gaze_term_escape(esc, sizeof esc, key, strlen(key));
            s = gaze_error(GAZE_ERR_FORMAT, "%s: tensor %s is not in %s", path, esc, file);
        }
    }
    if (!s && set->n == 0) s = gaze_error(GAZE_ERR_FORMAT, "%s: weight_map is empty", path);
    json_decref(idx);
    if (s) st_shards_close(set);
    return s;
}

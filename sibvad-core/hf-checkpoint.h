/* hf-checkpoint.h: the paper's backbone from a Hugging Face checkpoint
 * directory as published: InternVL2.5 (InternVLChatModel: config.json with the
 * InternViT config under "vision_config", tensors under "vision_model.") or a
 * standalone InternViT (e.g. InternViT-300M-448px-V2_5: the config at the top
 * level, tensors without a prefix). Weights come from model.safetensors or
 * from the shards listed in model.safetensors.index.json; BF16, F16, F32 and
 * F64 are converted to float. Only the vision tensors are read: the language
 * model's and the projector's tensors are never converted, and a shard that
 * holds none of the vision tensors is never opened. */
#ifndef SIBVAD_HF_CHECKPOINT_H
#define SIBVAD_HF_CHECKPOINT_H

#include "sibvad.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The vision config of a checkpoint directory, as read from its config.json. */
typedef struct sibvad_hf_vision {
    int internvl;               /* 1: InternVL layout (vision_config, "vision_model." tensors) */
    int hidden_size, num_hidden_layers, num_attention_heads, intermediate_size;
    int patch_size, image_size, num_channels;
    int qkv_bias;               /* 0: the checkpoint has no attn.qkv.bias (loaded as zeros) */
    float layer_norm_eps;
} sibvad_hf_vision;

/* Read dir/config.json. Fails, naming the file and the key, on a missing or
 * mistyped key and on an architecture this backbone cannot compute
 * (qk_normalization, norm_type other than layer_norm, hidden_act other than
 * gelu, num_channels other than 3, image_size not a multiple of patch_size). */
int sibvad_hf_read_vision_config(const char *dir, sibvad_hf_vision *out, sibvad_error *err);

/* Set the backbone sizes of *cfg_inout from the checkpoint: bb_width, bb_depth,
 * bb_heads, bb_mlp, patch, img_h = img_w = image_size, bb_ln_eps,
 * bb_layerscale = 1, bb_frozen = 1. Everything else is kept; the result is
 * validated. */
int sibvad_hf_vision_config(const char *dir, sibvad_config *cfg_inout, sibvad_error *err);

/* What a load did (for tests and logs). */
typedef struct sibvad_hf_load_info {
    int sharded;                /* 1: model.safetensors.index.json; 0: model.safetensors */
    int internvl;               /* 1: "vision_model." names; 0: no prefix */
    int tensors_read;           /* tensors converted from the checkpoint */
    int tensors_zeroed;         /* qkv biases filled with zeros (qkv_bias false) */
    int files_opened;           /* safetensors files opened */
    size_t bytes_read;          /* bytes of tensor data converted */
} sibvad_hf_load_info;

/* Copy the backbone's tensors (vision_model.* of the model's table) from the
 * checkpoint in dir into the model, which must be on the CPU (load before
 * sibvad_model_use_backend). The checkpoint's config must match the model's
 * backbone exactly (width, depth, heads, MLP, patch, image size = model input
 * size, LayerNorm eps, layer scale on); the position embedding is not
 * interpolated. Every tensor's shape and dtype is checked; a failure names
 * the tensor and the file, and may leave the backbone partly loaded.
 * info may be NULL. */
int sibvad_hf_load_backbone_info(sibvad_model *m, const char *dir, sibvad_hf_load_info *info,
                                 sibvad_error *err);
int sibvad_hf_load_backbone(sibvad_model *m, const char *dir, sibvad_error *err);

#ifdef __cplusplus
}
#endif
#endif

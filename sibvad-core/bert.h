/* bert.h: a BERT encoder for sentence embeddings (SimCSE, princeton-nlp/sup-simcse-bert-base-
 * uncased: the pooler_output of the [CLS] token, spec section 7), loaded from a Hugging Face
 * checkpoint directory: config.json, vocab.txt and model.safetensors (F32, F16 or BF16; tensor
 * names with or without the "bert." prefix).
 *
 * Forward (one sentence, no padding): x = LayerNorm(word[id] + position[i] + token_type[0]);
 * per layer (post-norm): x = LN(x + attn(x)), x = LN(x + W2 gelu(W1 x)), exact erf GELU;
 * pooler_output = tanh(Wp x[CLS] + bp). Text is tokenized by wordpiece.h and truncated to
 * min(512, max_position_embeddings) ids. */
#ifndef SIBVAD_BERT_H
#define SIBVAD_BERT_H

#include "sibvad.h"
#include "wordpiece.h"

#include <stdint.h>

typedef struct sibvad_text_encoder sibvad_text_encoder;

/* Load dir/config.json, dir/vocab.txt, dir/model.safetensors. Every missing or wrong config
 * key, tensor, shape or dtype is an error that names it. */
sibvad_text_encoder *sibvad_text_encoder_load(const char *dir, sibvad_error *err);
void sibvad_text_encoder_free(sibvad_text_encoder *enc);

/* hidden_size: the length of an embedding. */
int sibvad_text_encoder_dim(const sibvad_text_encoder *enc);
/* Most ids per sentence, [CLS] and [SEP] included. */
int sibvad_text_encoder_max_len(const sibvad_text_encoder *enc);
const sibvad_wordpiece *sibvad_text_encoder_tokenizer(const sibvad_text_encoder *enc);

/* pooler_output of a sentence: out holds hidden_size floats. Safe to call from several
 * threads at once on one encoder (scratch is per call). */
int sibvad_text_encoder_embed(const sibvad_text_encoder *enc, const char *text, float *out,
                              sibvad_error *err);
/* The same from token ids (n in 1..max_len, each below vocab_size). */
int sibvad_text_encoder_embed_ids(const sibvad_text_encoder *enc, const int32_t *ids, int n,
                                  float *out, sibvad_error *err);

#endif

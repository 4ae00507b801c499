/* wordpiece.h: the BERT WordPiece tokenizer (uncased), as Hugging Face's BertTokenizer
 * (BasicTokenizer + WordpieceTokenizer with do_lower_case=True, tokenize_chinese_chars=True).
 *
 * Text (UTF-8; invalid bytes count as U+FFFD, which is dropped) is cleaned (U+0000, U+FFFD and
 * control/format/unassigned characters dropped, whitespace made ' '), CJK ideographs become
 * words of their own, each word is lower-cased, decomposed (NFD) and stripped of non-spacing
 * marks (Mn), punctuation (ASCII 33-47, 58-64, 91-96, 123-126 and Unicode P*) is split off, and
 * each piece goes through greedy longest-match-first WordPiece ("##" continuations; [UNK] for
 * a word over 100 code points or one that cannot be matched). The Unicode data come from
 * wordpiece-tables.h (generated from Python's unicodedata). Not covered: literal special
 * tokens in the text ("[CLS]" is split like any text), Greek final sigma (lowered per code
 * point to σ, as the fast tokenizer does), canonical reordering of non-Mn combining marks. */
#ifndef SIBVAD_WORDPIECE_H
#define SIBVAD_WORDPIECE_H

#include "sibvad.h"

#include <stdint.h>

#define SIBVAD_WORDPIECE_MAX_LEN 512

typedef struct sibvad_wordpiece sibvad_wordpiece;

/* Load vocab.txt: one token per line, id = line number (from 0), a trailing "\r" is dropped,
 * a repeated token keeps its last id. [UNK], [CLS] and [SEP] must be present. */
sibvad_wordpiece *sibvad_wordpiece_load(const char *vocab_path, sibvad_error *err);
void sibvad_wordpiece_free(sibvad_wordpiece *wp);

/* Number of lines (ids) in the vocabulary. */
int sibvad_wordpiece_size(const sibvad_wordpiece *wp);
/* Id of a token, or -1. */
int sibvad_wordpiece_id(const sibvad_wordpiece *wp, const char *token);
/* Token of an id, or NULL. */
const char *sibvad_wordpiece_token(const sibvad_wordpiece *wp, int id);

/* Tokenize text into [CLS] pieces... [SEP], truncated to max_len ids (2..512; the pieces
 * are cut to max_len - 2). ids holds max_len entries. Returns the number of ids (>= 2),
 * or -1 with a message. */
int sibvad_wordpiece_encode(const sibvad_wordpiece *wp, const char *text, int32_t *ids,
                            int max_len, sibvad_error *err);

#endif

/* feature-cache.c: frozen-backbone features kept per frame (sibvad.h,
 * sibvad_feature_cache). With a frozen pretrained backbone the backbone's
 * output for a frame never changes, so training computes it once per frame and
 * reuses it in every clip and epoch that holds the frame (a frame belongs to
 * up to T clips; the paper's backbone is ~97 % of its parameters).
 *
 * An entry holds the two taps the rest of the model reads: the patch
 * embedding (bb_x[0], the skip stream of a clip's last frame) and the last
 * layer (bb_x[depth], the visual stream), each N1 x bb_width floats, in host
 * memory. Entries are found by a 64-bit frame id (open addressing, linear
 * probing, tombstone-free deletion) and evicted least recently used first.
 *
 * sibvad_model_forward_cached: the batch's frames that the cache lacks (each
 * once, however many clips of the batch share it) run through the backbone
 * one at a time and their taps are stored; then every position's taps come
 * from the cache into the activations, and the forward continues as
 * sibvad_model_forward does. One frame at a time makes a frame's features a
 * function of the frame alone (a matrix product's rounding can depend on how
 * many rows it has), so a cached run is deterministic whatever the cache held
 * before (a resumed run starts cold and still repeats the uninterrupted one
 * bit for bit); it equals the uncached forward within rounding
 * (tests/test_feature_cache.c). */
#include "model-internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY (-1)

typedef struct {
    long long id;
    int prev, next;         /* LRU list: head is the most recently used */
    unsigned call;          /* last forward that used it */
    float *data;            /* 2 * N1 * W floats: tap 0 then the last tap */
} entry;

struct sibvad_feature_cache {
    int N1, W, depth, frames_in, img;   /* the model it was made for */
    size_t entry_floats;
    int capacity, count;
    entry *e;               /* capacity entries */
    int *table;             /* 2^k slots holding entry indices or EMPTY */
    size_t mask;
    int head, tail, free_list;
    unsigned call;
    long long hits, misses, evictions;
    /* per call: position -> entry, the positions of the missing frames */
    int *pos_entry, *miss_pos;
    int pos_cap;
};

static size_t hash_id(long long id)
{
    uint64_t x = (uint64_t)id;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return (size_t)x;
}

size_t sibvad_feature_cache_entry_bytes(const sibvad_model *m)
{
    return m ? sizeof(float) * 2 * (size_t)m->N1 * m->cfg.bb_width : 0;
}

sibvad_feature_cache *sibvad_feature_cache_new(const sibvad_model *m, size_t budget_bytes, sibvad_error *err)
{
    if (!m) {
        sibvad_fail(err, "feature cache: NULL model");
        return NULL;
    }
    if (!m->cfg.bb_frozen) {
        sibvad_fail(err, "feature cache: the model's backbone is trained (bb_frozen = 0): its features change "
                         "every step and cannot be kept");
        return NULL;
    }
    const size_t eb = sibvad_feature_cache_entry_bytes(m);
    const size_t cap = budget_bytes / eb;
    if (cap < 1) {
        sibvad_fail(err, "feature cache: a budget of %zu bytes holds no frame (one frame's features take %zu bytes)",
                    budget_bytes, eb);
        return NULL;
    }
    if (cap > (size_t)1 << 28) {
        sibvad_fail(err, "feature cache: a budget of %zu bytes is more frames than the cache indexes", budget_bytes);
        return NULL;
    }
    sibvad_feature_cache *c = calloc(1, sizeof *c);
    if (!c) {
        sibvad_fail(err, "feature cache: out of memory");
        return NULL;
    }
    c->N1 = m->N1;
    c->W = m->cfg.bb_width;
    c->depth = m->cfg.bb_depth;
    c->frames_in = m->cfg.frames_in;
    c->img = m->cfg.channels * m->cfg.img_h * m->cfg.img_w;
    c->entry_floats = 2 * (size_t)m->N1 * m->cfg.bb_width;
    c->capacity = (int)cap;
    size_t slots = 16;
    while (slots < 2 * cap)
        slots <<= 1;
    c->mask = slots - 1;
    c->e = calloc(cap, sizeof *c->e);
    c->table = malloc(sizeof(int) * slots);
    if (!c->e || !c->table) {
        sibvad_feature_cache_free(c);
        sibvad_fail(err, "feature cache: out of memory for %zu entries", cap);
        return NULL;
    }
    for (size_t i = 0; i < slots; i++)
        c->table[i] = EMPTY;
    c->head = c->tail = EMPTY;
    /* the free list threads every entry through .next */
    for (int i = 0; i < c->capacity; i++)
        c->e[i].next = i + 1 < c->capacity ? i + 1 : EMPTY;
    c->free_list = 0;
    return c;
}

void sibvad_feature_cache_free(sibvad_feature_cache *c)
{
    if (!c)
        return;
    if (c->e)
        for (int i = 0; i < c->capacity; i++)
            free(c->e[i].data);
    free(c->e);
    free(c->table);
    free(c->pos_entry);
    free(c->miss_pos);
    free(c);
}

void sibvad_feature_cache_get_stats(const sibvad_feature_cache *c, sibvad_feature_cache_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!c)
        return;
    out->hits = c->hits;
    out->misses = c->misses;
    out->evictions = c->evictions;
    out->entries = c->count;
    out->capacity = c->capacity;
}

/* ---- the index ---------------------------------------------------------- */

static size_t find_slot(const sibvad_feature_cache *c, long long id)
{
    size_t s = hash_id(id) & c->mask;
    while (c->table[s] != EMPTY && c->e[c->table[s]].id != id)
        s = (s + 1) & c->mask;
    return s; /* the entry's slot, or the empty slot where it would go */
}

/* remove slot s, moving later entries of its probe run back (no tombstones) */
static void remove_slot(sibvad_feature_cache *c, size_t s)
{
    c->table[s] = EMPTY;
    size_t j = s;
    for (;;) {
        j = (j + 1) & c->mask;
        if (c->table[j] == EMPTY)
            return;
        const size_t home = hash_id(c->e[c->table[j]].id) & c->mask;
        /* the entry at j may move to s if its home is not cyclically in (s, j] */
        const int in_range = s <= j ? (home > s && home <= j) : (home > s || home <= j);
        if (!in_range) {
            c->table[s] = c->table[j];
            c->table[j] = EMPTY;
            s = j;
        }
    }
}

/* ---- the LRU list ------------------------------------------------------- */

static void unlink_entry(sibvad_feature_cache *c, int i)
{
    entry *x = &c->e[i];
    if (x->prev != EMPTY)
        c->e[x->prev].next = x->next;
    else
        c->head = x->next;
    if (x->next != EMPTY)
        c->e[x->next].prev = x->prev;
    else
        c->tail = x->prev;
}

static void push_front(sibvad_feature_cache *c, int i)
{
    entry *x = &c->e[i];
    x->prev = EMPTY;
    x->next = c->head;
    if (c->head != EMPTY)
        c->e[c->head].prev = i;
    c->head = i;
    if (c->tail == EMPTY)
        c->tail = i;
}

/* a free entry for id (the least recently used one when full); -1 when every
 * entry is in use by this call (the caller checked that cannot happen) */
static int take_entry(sibvad_feature_cache *c, long long id)
{
    int i;
    if (c->free_list != EMPTY) {
        i = c->free_list;
        c->free_list = c->e[i].next;
        if (!c->e[i].data && !(c->e[i].data = malloc(sizeof(float) * c->entry_floats))) {
            c->e[i].next = c->free_list;
            c->free_list = i;
            return -1;
        }
        c->count++;
    } else {
        i = c->tail;
        if (i == EMPTY || c->e[i].call == c->call)
            return -1;
        unlink_entry(c, i);
        remove_slot(c, find_slot(c, c->e[i].id));
        c->evictions++;
    }
    c->e[i].id = id;
    c->e[i].call = c->call;
    c->table[find_slot(c, id)] = i;
    push_front(c, i);
    return i;
}

/* ---- the cached forward ------------------------------------------------- */

static int ensure_call_buffers(sibvad_feature_cache *c, int n, sibvad_error *err)
{
    if (c->pos_cap < n) {
        int *pe = realloc(c->pos_entry, sizeof(int) * n), *mp = pe ? realloc(c->miss_pos, sizeof(int) * n) : NULL;
        if (pe)
            c->pos_entry = pe;
        if (mp)
            c->miss_pos = mp;
        if (!pe || !mp)
            return sibvad_fail(err, "feature cache: out of memory");
        c->pos_cap = n;
    }
    return 0;
}

int sibvad_model_forward_cached(sibvad_model *m, sibvad_feature_cache *cache, const long long *frame_ids,
                                const float *frames, const float *target, const float *semantic, int B,
                                sibvad_error *err)
{
    if (!cache || !frame_ids)
        return sibvad_fail(err, "cached forward: NULL cache or frame ids");
    if (m && (cache->N1 != m->N1 || cache->W != m->cfg.bb_width || cache->depth != m->cfg.bb_depth ||
              cache->frames_in != m->cfg.frames_in || !m->cfg.bb_frozen ||
              cache->img != m->cfg.channels * m->cfg.img_h * m->cfg.img_w))
        return sibvad_fail(err, "cached forward: the feature cache was made for another model");
    if (sibvad_forward_begin(m, &frames, target, semantic, B, err) < 0)
        return -1;
    const int n = B * m->cfg.frames_in;
    if (n > cache->capacity)
        return sibvad_fail(err, "cached forward: the cache holds %d frames, fewer than the %d of one batch",
                           cache->capacity, n);
    sibvad_be be = m->be;
    if (ensure_call_buffers(cache, n, err) < 0)
        return -1;
    sibvad_acts *a = &m->a;
    const size_t tap = (size_t)m->N1 * m->cfg.bb_width, img = (size_t)cache->img;
    float *tap0 = a->bb_x[0], *tapL = a->bb_x[m->cfg.bb_depth];
    cache->call++;

    /* 1. which positions the cache holds; the others' frames, once per id */
    int nmiss = 0;
    for (int i = 0; i < n; i++) {
        const size_t s = find_slot(cache, frame_ids[i]);
        int k = cache->table[s];
        if (k != EMPTY) {
            if (cache->e[k].call != cache->call) { /* first use in this call */
                unlink_entry(cache, k);
                push_front(cache, k);
                cache->e[k].call = cache->call;
                cache->hits++;
            }
            cache->pos_entry[i] = k;
            continue;
        }
        cache->pos_entry[i] = -1;
        /* a frame missing twice in one batch is computed once */
        int dup = -1;
        for (int j = 0; j < nmiss && dup < 0; j++)
            if (frame_ids[cache->miss_pos[j]] == frame_ids[i])
                dup = j;
        if (dup < 0)
            cache->miss_pos[nmiss++] = i;
    }

    /* 2. the backbone on each missing frame alone; its taps into the cache */
    if (nmiss > 0) {
        for (int j = 0; j < nmiss; j++) {
            const int i = cache->miss_pos[j];
            const int k = take_entry(cache, frame_ids[i]);
            if (k < 0)
                return sibvad_fail(err, "cached forward: out of memory for the frame features");
            sibvad_forward_frames(m, a, a->vis_proj, frames + (size_t)i * img, 1);
            be->download(be, cache->e[k].data, tap0, sizeof(float) * tap);
            be->download(be, cache->e[k].data + tap, tapL, sizeof(float) * tap);
            cache->misses++;
        }
        for (int i = 0; i < n; i++)
            if (cache->pos_entry[i] < 0)
                cache->pos_entry[i] = cache->table[find_slot(cache, frame_ids[i])];
    }

    /* 3. every position's taps from the cache, the visual projection, the rest */
    for (int i = 0; i < n; i++) {
        const float *d = cache->e[cache->pos_entry[i]].data;
        be->upload(be, tap0 + (size_t)i * tap, d, sizeof(float) * tap);
        be->upload(be, tapL + (size_t)i * tap, d + tap, sizeof(float) * tap);
    }
    const sibvad_weights *w = &m->w;
    be->linear_forward(be, a->vis_proj, tapL, w->visual_project.w, w->visual_project.b, n * m->N1,
                       m->cfg.bb_width, m->cfg.d_model);
    sibvad_forward_rest(m, frames, target, semantic, B);
    return 0;
}

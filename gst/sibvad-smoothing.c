/* sibvad-smoothing.c: live Gaussian smoothing of a score series.
 *
 * Offline (sibvad_gaussian_smooth in sibvad-core/metrics.c, used by
 * tools/common/protocol.c) a series x[0..n-1] becomes
 *   y[i] = sum_{j=-r..r} k[j] x[reflect(i - j, n)] / sum_j k[j]
 * with k[j] = exp(-j^2 / (2 sigma^2)), r = (int) (4 sigma + 0.5), k[j] = 0
 * for j < 0 when causal, and scipy's "reflect" at both ends (d c b a | a b c
 * d | d c b a). Here the same sums are computed, in the same order and in
 * double precision, on a series that arrives one value at a time:
 *
 *  - centred: y[i] is final once x[i + r] has arrived (or the series has
 *    ended); every value then equals the offline one exactly, reflection at
 *    both ends included;
 *  - causal: y[i] is given as soon as x[i] arrives, reflecting within the
 *    values seen so far (n = i + 1). Offline, the reflection at the start of
 *    a series reaches up to x[r - 1 - i], a future value for i < (r - 1) / 2;
 *    from frame (r - 1) / 2 of a series on both are equal exactly.
 *
 * Only the values still needed are kept (at most about 2r + 1 once the
 * series is longer than r). */
#include "sibvad-smoothing.h"

#include "metrics.h"


#define TRIM_CHUNK 1024

struct _GstSibvadSmoother
{
  GstSibvadSmoothing mode;
  gfloat sigma;
  gint r;
  gdouble *k;                   /* 2r + 1 weights, k[j + r] */
  gdouble ksum;
  GArray *x;                    /* values from absolute index base on */
  guint64 base;
  guint64 n;                    /* values pushed in this series */
  guint64 next;                 /* next value to give out */
  gboolean finished;
};

GstSibvadSmoother *
gst_sibvad_smoother_new (GstSibvadSmoothing mode, gfloat sigma)
{
  GstSibvadSmoother *s = g_new0 (GstSibvadSmoother, 1);

  s->mode = mode;
  s->sigma = sigma;
  s->x = g_array_new (FALSE, FALSE, sizeof (gfloat));
  if (mode != GST_SIBVAD_SMOOTHING_NONE && sigma > 0.0f) {
    /* the offline kernel itself (sibvad-core/metrics.c) */
    s->r = sibvad_gaussian_radius (sigma);
    s->k = g_new (gdouble, 2 * s->r + 1);
    s->ksum = sibvad_gaussian_kernel (s->k, sigma,
        mode == GST_SIBVAD_SMOOTHING_CAUSAL);
  } else {
    s->mode = GST_SIBVAD_SMOOTHING_NONE;
  }
  return s;
}

void
gst_sibvad_smoother_free (GstSibvadSmoother * s)
{
  if (!s)
    return;
  g_array_unref (s->x);
  g_free (s->k);
  g_free (s);
}

GstSibvadSmoothing
gst_sibvad_smoother_mode (const GstSibvadSmoother * s)
{
  return s->mode;
}

guint
gst_sibvad_smoother_radius (const GstSibvadSmoother * s)
{
  return s->r;
}

guint
gst_sibvad_smoother_delay (const GstSibvadSmoother * s)
{
  return s->mode == GST_SIBVAD_SMOOTHING_CENTRED ? (guint) s->r : 0;
}

void
gst_sibvad_smoother_reset (GstSibvadSmoother * s)
{
  g_array_set_size (s->x, 0);
  s->base = s->n = s->next = 0;
  s->finished = FALSE;
}

void
gst_sibvad_smoother_push (GstSibvadSmoother * s, gfloat x)
{
  if (s->finished) {
    /* values of the ended series that were never popped are dropped */
    gst_sibvad_smoother_reset (s);
  }
  g_array_append_val (s->x, x);
  s->n++;
}

void
gst_sibvad_smoother_finish (GstSibvadSmoother * s)
{
  s->finished = TRUE;
}

static gfloat
value (const GstSibvadSmoother * s, guint64 idx)
{
  g_assert (idx >= s->base && idx - s->base < s->x->len);
  return g_array_index (s->x, gfloat, idx - s->base);
}

gboolean
gst_sibvad_smoother_pop (GstSibvadSmoother * s, gfloat * out)
{
  const guint64 i = s->next;
  guint64 n, keep;
  gdouble acc = 0.0;
  gint j;

  if (i >= s->n)
    return FALSE;

  switch (s->mode) {
    case GST_SIBVAD_SMOOTHING_NONE:
      *out = value (s, i);
      break;
    case GST_SIBVAD_SMOOTHING_CAUSAL:
      n = i + 1;                /* what has been seen when y[i] is due */
      for (j = -s->r; j <= s->r; j++)
        acc += s->k[j + s->r] * value (s, sibvad_reflect_index ((long) i - j, n));
      *out = (gfloat) (acc / s->ksum);
      break;
    case GST_SIBVAD_SMOOTHING_CENTRED:
      if (!s->finished && i + s->r >= s->n)
        return FALSE;
      /* before the end only the reflection at the start can apply: every
       * index stays below n */
      for (j = -s->r; j <= s->r; j++)
        acc += s->k[j + s->r] * value (s, sibvad_reflect_index ((long) i - j, s->n));
      *out = (gfloat) (acc / s->ksum);
      break;
  }
  s->next++;

  /* drop what no later value needs: from next - r on (and all of the first
   * r values while next < r) */
  keep = s->next > (guint64) s->r ? s->next - s->r : 0;
  if (keep > s->base && keep - s->base >= TRIM_CHUNK) {
    g_array_remove_range (s->x, 0, (guint) (keep - s->base));
    s->base = keep;
  }
  return TRUE;
}

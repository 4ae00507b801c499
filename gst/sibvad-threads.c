/* sibvad-threads.c: the CPU thread count of each model call.
 *
 * The core's sibvad_set_threads sets OpenMP's thread count for the calling
 * thread only, but OpenBLAS's for the whole process; OpenBLAS's OpenMP build
 * also resets its count (and frees the work buffers of the threads it drops)
 * whenever a caller's OpenMP count differs from it. OpenBLAS splits its sums
 * by thread count, so the same frame scores differently with 1 and 2 threads
 * (in the last bits; with ped2-lite up to 3e-3 of the score downstream of the
 * SFFM router). Two sibvadfilters with different `threads` in one process
 * therefore changed each other's arithmetic, at random, and could free
 * OpenBLAS work buffers under a running call (stress-element instances with
 * ped2-lite, threads 1 and 2: up to 17 of 600 frames differed from a
 * single-instance run).
 *
 * Here calls with the same count run together; a call with another count
 * waits until none runs, and the count is only switched then. Waiting calls
 * of another count also hold back new calls of the running count, so no
 * count waits for ever. With one count in the whole process (the usual case)
 * this is one uncontended mutex per call. */
#include "sibvad-threads.h"

#include <stdlib.h>

#include "sibvad.h"

#define MAX_COUNT 1024

static GMutex lock;
static GCond cond;
static gint current;            /* the count in force (0: not set here yet) */
static guint active;            /* calls running */
static guint waiting_total;
static guint waiting[MAX_COUNT + 1];    /* waiting calls by count */
static GPrivate applied;        /* this thread's OpenMP count */

gint
gst_sibvad_threads_default (void)
{
  static gsize def;

  if (g_once_init_enter (&def)) {
    const gchar *env = g_getenv ("OMP_NUM_THREADS");
    gint n = env ? atoi (env) : 0;      /* "4" or "4,2": the first level */

    if (n <= 0)
      n = (gint) g_get_num_processors ();
    g_once_init_leave (&def, (gsize) CLAMP (n, 1, MAX_COUNT));
  }
  return (gint) def;
}

gint
gst_sibvad_threads_enter (gint threads)
{
  gint n = threads > 0 ? MIN (threads, MAX_COUNT) :
      gst_sibvad_threads_default ();

  g_mutex_lock (&lock);
  waiting[n]++;
  waiting_total++;
  while (active > 0 && (current != n || waiting_total > waiting[n]))
    g_cond_wait (&cond, &lock);
  waiting[n]--;
  waiting_total--;
  if (current != n || GPOINTER_TO_INT (g_private_get (&applied)) != n) {
    /* no call with another count runs now: switching is safe (and setting
     * the same count again only sets this thread's OpenMP count) */
    sibvad_set_threads (n);
    current = n;
    g_private_set (&applied, GINT_TO_POINTER (n));
  }
  active++;
  g_mutex_unlock (&lock);
  return n;
}

void
gst_sibvad_threads_leave (void)
{
  g_mutex_lock (&lock);
  g_assert (active > 0);
  if (--active == 0 && waiting_total > 0)
    g_cond_broadcast (&cond);
  g_mutex_unlock (&lock);
}

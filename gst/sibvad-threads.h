/* sibvad-threads.h: the CPU thread count of each model call, shared by every
 * sibvadfilter of the process (see sibvad-threads.c). */
#ifndef __GST_SIBVAD_THREADS_H__
#define __GST_SIBVAD_THREADS_H__

#include <glib.h>

G_BEGIN_DECLS

/* Before a call into the model (or the text encoder) from the calling
 * thread with @threads CPU threads (0: OMP_NUM_THREADS when set, else every
 * core): waits while calls with another count run, then sets the count.
 * Returns the count in force. Pair with gst_sibvad_threads_leave(). */
gint gst_sibvad_threads_enter (gint threads);
void gst_sibvad_threads_leave (void);

/* the count of threads=0 */
gint gst_sibvad_threads_default (void);

G_END_DECLS

#endif

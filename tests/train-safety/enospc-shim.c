/* enospc-shim.c: an LD_PRELOAD library for tests/test_train_safety.c that
 * makes the disk look full to the atomic writer: once SIBVAD_ENOSPC_AFTER
 * temporary files (names holding ".tmp.") have been written, every write()
 * to such a file fails with ENOSPC, as on a full disk. Other files are not
 * touched. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

ssize_t write(int fd, const void *buf, size_t n)
{
    static ssize_t (*real_write)(int, const void *, size_t);
    static int files;
    if (!real_write)
        real_write = (ssize_t(*)(int, const void *, size_t))dlsym(RTLD_NEXT, "write");
    char link[64], path[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    const ssize_t len = readlink(link, path, sizeof path - 1);
    if (len > 0) {
        path[len] = '\0';
        if (strstr(path, ".tmp.")) {
            if (lseek(fd, 0, SEEK_CUR) == 0) /* the first write of a new temporary file */
                files++;
            const char *e = getenv("SIBVAD_ENOSPC_AFTER");
            if (files > (e ? atoi(e) : 0)) {
                errno = ENOSPC;
                return -1;
            }
        }
    }
    return real_write(fd, buf, n);
}

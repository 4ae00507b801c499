/* backend-loader.c: finding a backend by name. The CPU backend is built in;
 * the CUDA backend is a module (libsibvad-cuda.so, cuda/) loaded with dlopen
 * only when asked for, so the core, the tools and the plugin run on machines
 * without a GPU, a driver or the CUDA libraries. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "backend.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CUDA_MODULE "libsibvad-cuda.so"

/* dlopen the module: SIBVAD_CUDA_MODULE, then beside the library that holds
 * this code (the plugin or a tool), then its ../cuda (a build tree), then the
 * library path. */
static void *open_module(char *why, size_t whylen)
{
    const char *env = getenv("SIBVAD_CUDA_MODULE");
    void *h;
    why[0] = '\0';
    if (env && *env) {
        h = dlopen(env, RTLD_NOW | RTLD_LOCAL);
        if (h)
            return h;
        snprintf(why, whylen, "%s", dlerror());
        return NULL;
    }
    Dl_info info;
    if (dladdr((void *)open_module, &info) && info.dli_fname) {
        char dir[4096];
        snprintf(dir, sizeof dir, "%s", info.dli_fname);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            const char *cands[] = {"%s/" CUDA_MODULE, "%s/../cuda/" CUDA_MODULE, "%s/../../cuda/" CUDA_MODULE};
            for (size_t i = 0; i < sizeof cands / sizeof cands[0]; i++) {
                char path[4200];
                snprintf(path, sizeof path, cands[i], dir);
                h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
                if (h)
                    return h;
                const char *e = dlerror();
                /* a module that exists but cannot load (no CUDA runtime) says why */
                if (e && !strstr(e, "No such file") && !why[0])
                    snprintf(why, whylen, "%s", e);
            }
        }
    }
    h = dlopen(CUDA_MODULE, RTLD_NOW | RTLD_LOCAL);
    if (h)
        return h;
    if (!why[0])
        snprintf(why, whylen, "%s", dlerror());
    return NULL;
}

static sibvad_backend *open_cuda(const char *options, sibvad_error *err)
{
    char why[1024];
    void *h = open_module(why, sizeof why);
    if (!h) {
        sibvad_fail(err, "the CUDA backend module %s could not be loaded: %s", CUDA_MODULE, why);
        return NULL;
    }
    sibvad_backend_module_init_fn init = (sibvad_backend_module_init_fn)dlsym(h, SIBVAD_BACKEND_MODULE_INIT);
    if (!init) {
        sibvad_fail(err, "%s has no %s entry point", CUDA_MODULE, SIBVAD_BACKEND_MODULE_INIT);
        dlclose(h);
        return NULL;
    }
    sibvad_backend *be = calloc(1, sizeof *be);
    if (!be) {
        sibvad_fail(err, "out of memory");
        dlclose(h);
        return NULL;
    }
    if (init(be, options, err) < 0) { /* no driver, no GPU: the module says which */
        free(be);
        dlclose(h);
        return NULL;
    }
    /* the module stays loaded for the life of the process: its code backs be */
    return be;
}

sibvad_backend *sibvad_backend_open(const char *name, sibvad_error *err)
{
    if (!name || !strcmp(name, "cpu"))
        return (sibvad_backend *)sibvad_backend_cpu();
    /* "cuda[:precision]", "auto[:precision]" */
    const char *colon = strchr(name, ':');
    const size_t base = colon ? (size_t)(colon - name) : strlen(name);
    const char *options = colon ? colon + 1 : "";
    const int is_cuda = base == 4 && !strncmp(name, "cuda", 4), is_auto = base == 4 && !strncmp(name, "auto", 4);
    if (!is_cuda && !is_auto) {
        if (base == 3 && !strncmp(name, "cpu", 3))
            sibvad_fail(err, "backend \"%s\": the CPU backend computes in fp32 and takes no precision", name);
        else
            sibvad_fail(err, "unknown backend \"%s\" (cpu, cuda or auto, the GPU ones with :fp32, :tf32 or :bf16)",
                        name);
        return NULL;
    }
    if (colon && strcmp(options, "fp32") && strcmp(options, "tf32") && strcmp(options, "bf16")) {
        sibvad_fail(err, "backend \"%s\": unknown precision \"%s\" (fp32, tf32 or bf16)", name, options);
        return NULL;
    }
    if (is_cuda)
        return open_cuda(options, err);
    sibvad_backend *be = open_cuda(options, NULL);
    return be ? be : (sibvad_backend *)sibvad_backend_cpu();
}

void sibvad_backend_release(sibvad_backend *be)
{
    if (!be || be == sibvad_backend_cpu())
        return;
    if (be->destroy)
        be->destroy(be);
    free(be);
}

// Loads libarchive on first use: see archive_lazy.h.
#define CRT_ARCHIVE_LAZY_IMPLEMENTATION
#include "archive_lazy.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define CRT_ARCHIVE_DEFINE(name) __typeof__(name) *crt_lazy_##name;
CRT_ARCHIVE_FUNCTIONS(CRT_ARCHIVE_DEFINE)
#undef CRT_ARCHIVE_DEFINE

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[256];

static void load(void) {
    // The soname of Debian 12's libarchive13 (what the build linked against before).
    void *library = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(failure, sizeof failure, "cannot load libarchive (install libarchive13): %s", dlerror());
        return;
    }
#define CRT_ARCHIVE_RESOLVE(name)                                                              \
    if (!(crt_lazy_##name = (__typeof__(name) *)dlsym(library, #name))) {                       \
        snprintf(failure, sizeof failure, "libarchive.so.13 has no %s: too old a libarchive", #name); \
        return;                                                                                  \
    }
    CRT_ARCHIVE_FUNCTIONS(CRT_ARCHIVE_RESOLVE)
#undef CRT_ARCHIVE_RESOLVE
}

int crt_archive_load(char *err, size_t errlen) {
    pthread_once(&once, load);
    if (failure[0] == '\0') return 0;
    if (errlen) snprintf(err, errlen, "%s", failure);
    return -1;
}

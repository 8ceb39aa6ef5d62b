// Reading a layer's uncompressed bytes (to compute its diff ID): libarchive
// detects and undoes gzip or zstd; its API is C with opaque handles.
#include "CRuntime.h"

#include "archive_lazy.h"
#include <stdio.h>
#include <string.h>

void *crt_decompress_open(int fd, char *err, size_t errlen) {
    if (crt_archive_load(err, errlen) != 0) return NULL;
    struct archive *a = archive_read_new();
    if (!a) { snprintf(err, errlen, "out of memory"); return NULL; }
    archive_read_support_filter_all(a);
    archive_read_support_format_raw(a);
    struct archive_entry *entry;
    if (archive_read_open_fd(a, fd, 1 << 16) != ARCHIVE_OK || archive_read_next_header(a, &entry) != ARCHIVE_OK) {
        snprintf(err, errlen, "%s", archive_error_string(a) ? archive_error_string(a) : "unreadable archive");
        archive_read_free(a);
        return NULL;
    }
    return a;
}

long crt_decompress_read(void *handle, void *buf, size_t len) {
    return (long)archive_read_data((struct archive *)handle, buf, len);
}

void crt_decompress_close(void *handle) { archive_read_free((struct archive *)handle); }

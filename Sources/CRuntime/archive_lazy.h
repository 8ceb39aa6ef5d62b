// libarchive through pointers loaded on first use (archive_lazy.c), so that
// `swarm` does not load libarchive and the ten libraries it needs (xml2,
// ICU, lzma, zstd, …) at every start: only commands that unpack or
// decompress a layer do. Include this instead of <archive.h>.
#ifndef CRT_ARCHIVE_LAZY_H
#define CRT_ARCHIVE_LAZY_H

#include <archive.h>
#include <archive_entry.h>
#include <stddef.h>

#define CRT_ARCHIVE_FUNCTIONS(X)                                                              \
    X(archive_error_string) X(archive_read_new) X(archive_read_free) X(archive_read_open_fd) \
    X(archive_read_next_header) X(archive_read_data) X(archive_read_data_block)               \
    X(archive_read_support_filter_all) X(archive_read_support_filter_gzip)                   \
    X(archive_read_support_filter_xz) X(archive_read_support_filter_zstd)                    \
    X(archive_read_support_filter_bzip2)                                                     \
    X(archive_read_support_format_raw) X(archive_read_support_format_tar)                    \
    X(archive_write_disk_new) X(archive_write_disk_set_options)                              \
    X(archive_write_disk_set_skip_file) X(archive_write_header) X(archive_write_data_block)  \
    X(archive_write_finish_entry) X(archive_write_close) X(archive_write_free)               \
    X(archive_entry_pathname) X(archive_entry_copy_pathname) X(archive_entry_hardlink)       \
    X(archive_entry_copy_hardlink) X(archive_entry_filetype) X(archive_entry_uid)            \
    X(archive_entry_gid) X(archive_entry_xattr_clear) X(archive_entry_xattr_add_entry)       \
    X(archive_entry_xattr_reset) X(archive_entry_xattr_next)

#define CRT_ARCHIVE_DECLARE(name) extern __typeof__(name) *crt_lazy_##name;
CRT_ARCHIVE_FUNCTIONS(CRT_ARCHIVE_DECLARE)
#undef CRT_ARCHIVE_DECLARE

/// Loads libarchive once (thread-safe); 0, or -1 with a message in `err`.
int crt_archive_load(char *err, size_t errlen);

#ifndef CRT_ARCHIVE_LAZY_IMPLEMENTATION
#define archive_error_string (*crt_lazy_archive_error_string)
#define archive_read_new (*crt_lazy_archive_read_new)
#define archive_read_free (*crt_lazy_archive_read_free)
#define archive_read_open_fd (*crt_lazy_archive_read_open_fd)
#define archive_read_next_header (*crt_lazy_archive_read_next_header)
#define archive_read_data (*crt_lazy_archive_read_data)
#define archive_read_data_block (*crt_lazy_archive_read_data_block)
#define archive_read_support_filter_all (*crt_lazy_archive_read_support_filter_all)
#define archive_read_support_filter_gzip (*crt_lazy_archive_read_support_filter_gzip)
#define archive_read_support_filter_xz (*crt_lazy_archive_read_support_filter_xz)
#define archive_read_support_filter_zstd (*crt_lazy_archive_read_support_filter_zstd)
#define archive_read_support_filter_bzip2 (*crt_lazy_archive_read_support_filter_bzip2)
#define archive_read_support_format_raw (*crt_lazy_archive_read_support_format_raw)
#define archive_read_support_format_tar (*crt_lazy_archive_read_support_format_tar)
#define archive_write_disk_new (*crt_lazy_archive_write_disk_new)
#define archive_write_disk_set_options (*crt_lazy_archive_write_disk_set_options)
#define archive_write_disk_set_skip_file (*crt_lazy_archive_write_disk_set_skip_file)
#define archive_write_header (*crt_lazy_archive_write_header)
#define archive_write_data_block (*crt_lazy_archive_write_data_block)
#define archive_write_finish_entry (*crt_lazy_archive_write_finish_entry)
#define archive_write_close (*crt_lazy_archive_write_close)
#define archive_write_free (*crt_lazy_archive_write_free)
#define archive_entry_pathname (*crt_lazy_archive_entry_pathname)
#define archive_entry_copy_pathname (*crt_lazy_archive_entry_copy_pathname)
#define archive_entry_hardlink (*crt_lazy_archive_entry_hardlink)
#define archive_entry_copy_hardlink (*crt_lazy_archive_entry_copy_hardlink)
#define archive_entry_filetype (*crt_lazy_archive_entry_filetype)
#define archive_entry_uid (*crt_lazy_archive_entry_uid)
#define archive_entry_gid (*crt_lazy_archive_entry_gid)
#define archive_entry_xattr_clear (*crt_lazy_archive_entry_xattr_clear)
#define archive_entry_xattr_add_entry (*crt_lazy_archive_entry_xattr_add_entry)
#define archive_entry_xattr_reset (*crt_lazy_archive_entry_xattr_reset)
#define archive_entry_xattr_next (*crt_lazy_archive_entry_xattr_next)
#endif

#endif

// The index file / shared-memory layout: one flat, position-independent image
// (offsets, never pointers) that is valid wherever it is mapped. Every reader
// maps it read-only; a lookup is O(1) and allocates nothing.
//
// clang-format off
//   IndexHeader                      fixed 1024 bytes at offset 0
//   strings   char[]                 file paths, NUL-terminated
//   names     zlib stream            function names, NUL-terminated (cold: only the CLI prints them)
//   files     FileEntry[n_files]     sorted by path (Delve's bi.Sources order)
//   file_hash uint32[file_hash_cap]  path hash -> file id + 1 (0 = empty), linear probing
//   words     LineWord[]             per file, one bit per source line in [min_line, max_line]:
//                                    set = the line has code; plus a rank (set bits before it)
//   values    uint32[n_keys]         per set bit, in line order: one PC, or kPcList | index
//   pc_lists  uint32[]               [count, pc...] for lines with != 1 PC
//   functions FunctionEntry[n_fn]    sorted by entry: PC -> function
// clang-format on
//
// A key (file, line) costs 4 bytes plus 1/64 of a word per source line; PCs
// are link-time addresses stored as 32-bit offsets from pc_base.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dlvidx::index {

inline constexpr char kMagic[8] = {'D', 'L', 'V', 'I', 'D', 'X', '\0', '\x01'};
inline constexpr uint32_t kFormatVersion =
    6;  // 5: the checksum covers the header; 6: moduledata_addr
inline constexpr uint32_t kPcList = 0x80000000u;  // value: index into pc_lists

struct FileEntry {
  uint32_t path;  // offset into strings
  uint32_t path_len;
  uint32_t base;      // offset of the basename within the path
  uint32_t min_line;  // first line with code (0 if none)
  uint32_t max_line;  // last line with code
  uint32_t words;     // first LineWord of this file
  uint32_t values;    // first value of this file
  uint32_t n_values;  // lines with code
};

struct LineWord {
  uint64_t bits;  // bit i: line min_line + 64*k + i has code
  uint32_t rank;  // set bits in this file's earlier words
  uint32_t reserved;
};

struct FunctionEntry {
  uint32_t entry;  // offset from pc_base
  uint32_t size;
  uint32_t name;       // offset into the inflated names
  uint32_t decl_line;  // the line of `func` (0 if unknown): where its body starts
};

struct TableRef {
  uint64_t offset;  // from the start of the image
  uint64_t bytes;
};

struct IndexHeader {
  char magic[8];
  uint32_t format_version;
  uint32_t header_size;
  uint64_t total_size;
  uint64_t checksum;  // XXH3-64 of the image, header included (checksum, ready, creator_pid as 0)

  // Identity of the binary the index was built from.
  uint64_t identity;  // XXH3-64 of the fields below: the shared memory / cache key
  uint64_t binary_size;
  int64_t binary_mtime_ns;
  uint64_t dwarf_hash;  // XXH3-64 of the raw DWARF section bytes
  uint64_t slice_offset;
  char go_build_id[128];
  char gnu_build_id[64];
  char uuid[40];
  uint8_t arch;    // dlvidx::Arch
  uint8_t format;  // dlvidx::ObjectFormat
  uint8_t pie;
  uint8_t reserved0;
  uint32_t ready;  // shared memory only: set (release) once the image is complete
  uint64_t link_base;
  uint64_t pc_base;

  // Counts, for the summary.
  uint64_t n_cus, n_files, n_keys, n_pcs, n_functions, n_rows, n_words;
  uint64_t dwarf_bytes, dwarf_raw_bytes;
  uint32_t file_hash_cap, reserved2;

  TableRef strings, files, file_hash, words, values, pc_lists, functions;
  uint32_t creator_pid;  // shared memory only: the process that published it
  uint32_t reserved3;
  TableRef names;        // zlib stream
  uint64_t names_bytes;  // inflated size
  // Link address of runtime.firstmoduledata (0: not found). A position-
  // independent binary's load bias is its runtime address (dlv evaluates
  // it) minus this.
  uint64_t moduledata_addr;
  uint8_t reserved1[1024 - 560];
};
static_assert(offsetof(IndexHeader, strings) == 408, "layout is fixed");
static_assert(offsetof(IndexHeader, moduledata_addr) == 552, "layout is fixed");
static_assert(sizeof(IndexHeader) == 1024, "IndexHeader is 1024 bytes");

// The two hashes the writer (index_builder.cc) and the reader (lookup.cc)
// must agree on (index_format.cc).

// A path's hash for the file_hash table (its slot: the hash masked by
// file_hash_cap - 1, then linear probing): the low 32 bits of XXH3-64.
uint32_t path_hash(std::string_view path);

// XXH3-64 of the whole image (header with checksum, ready and creator_pid
// zeroed, then the body), as stored in checksum.
uint64_t image_checksum(const uint8_t* data, uint64_t total_size);

}  // namespace dlvidx::index

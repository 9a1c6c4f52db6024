#include "index/build.h"

#include "index/dwarf_model.h"
#include "index/file_line_policy.h"
#include "index/index_builder.h"
#include "preload/dwarf_sections.h"
#include "preload/error.h"
#include "preload/mapped_file.h"

namespace dlvidx::index {
namespace {

struct Phase {
  Phase(const BuildOptions& o, const char* name) : timer(name) {
    if (o.progress) o.progress(name);
  }
  Timer timer;
};

IndexHandle open_index_unchecked(const std::string& path, const BuildOptions& opts,
                                 BuildReport* report) {
  BuildReport local;
  BuildReport& r = report ? *report : local;
  Timer::take_all();
  Timer total("total");
  r.path = path;

  std::unique_ptr<MappedFile> file;
  ObjectFile obj;
  {
    Phase p(opts, "open");
    file = MappedFile::open(path);
    obj = open_object(*file, opts.arch);
    if (!obj.is_go()) fail("{}: not a Go binary (no Go build ID, no .gopclntab)", path);
  }
  r.format = obj.format;
  r.arch = obj.arch;
  r.pie = obj.pie;
  {
    Phase p(opts, "identify");
    r.id = identify(*file, obj);
  }
  IndexStore store(opts.cache_dir);
  if (!opts.force) {
    Phase p(opts, "open index");
    if (auto h = store.open(r.id, &r.notes)) {
      p.timer.stop();
      total.stop();
      r.built = false;
      r.source = h->source();
      r.location = h->location();
      const IndexHeader& hd = h->view().header();
      r.cus = hd.n_cus, r.files = hd.n_files, r.keys = hd.n_keys, r.pcs = hd.n_pcs;
      r.functions = hd.n_functions, r.rows = hd.n_rows;
      r.moduledata_addr = hd.moduledata_addr;
      r.dwarf_bytes = hd.dwarf_bytes, r.dwarf_raw_bytes = hd.dwarf_raw_bytes;
      r.index_bytes = h->view().size();
      r.phases = Timer::take_all();
      r.total_ms = r.phases.back().ms;
      store.remember_path(path, r.id.key);
      return std::move(*h);
    }
  }

  if (opts.prefault) {
    Phase p(opts, "prefault");
    r.prefault = prefault_dwarf(*file, obj);
  }
  DwarfSections sections;
  {
    Phase p(opts, "inflate");
    sections = load_dwarf_sections(path, obj);
  }
  DwarfModel model;
  {
    Phase p(opts, "read dwarf");
    model = read_dwarf(path, sections);
  }
  FileLineTable table;
  {
    Phase p(opts, "policy");
    table = build_file_line_table(model, obj, *file);
  }
  std::vector<uint8_t> image;
  {
    Phase p(opts, "layout");
    image =
        build_index_image(table, r.id, obj, {model.cus.size(), sections.bytes, sections.raw_bytes});
  }
  std::optional<IndexHandle> handle;
  {
    Phase p(opts, "publish");
    handle.emplace(store.publish(image, r.id, &r.notes));
  }
  total.stop();
  store.remember_path(path, r.id.key);
  r.built = true;
  r.source = IndexSource::kBuilt;
  r.location = handle->location();
  r.cus = model.cus.size();
  r.files = table.files.size();
  r.keys = table.keys.size();
  r.pcs = handle->view().header().n_pcs;
  r.functions = table.functions.size();
  r.rows = table.rows;
  r.stmt_rows = table.stmt_rows;
  r.dies = model.dies;
  r.inlined_fallback_keys = table.inlined_fallback_keys;
  r.prologue_moves = table.prologue_moves;
  r.moduledata_addr = table.moduledata_addr;
  r.disassembled = table.disassembled;
  r.dwarf_bytes = sections.bytes;
  r.dwarf_raw_bytes = sections.raw_bytes;
  r.compressed_sections = sections.compressed;
  r.index_bytes = image.size();
  r.phases = Timer::take_all();
  r.total_ms = r.phases.back().ms;
  return std::move(*handle);
}

}  // namespace

IndexHandle open_index(const std::string& path, const BuildOptions& opts, BuildReport* report) {
  // Every failure is one line naming the file: dlvidx::Error already does;
  // anything else (an allocation, the store's Boost.Interprocess) gets the path here.
  try {
    return open_index_unchecked(path, opts, report);
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    fail("{}: out of memory while indexing", path);
  } catch (const std::exception& e) {
    fail("{}: {}", path, e.what());
  }
}

}  // namespace dlvidx::index

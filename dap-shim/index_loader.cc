#include "dap-shim/index_loader.h"

#include <charconv>
#include <thread>

#include "dap-shim/path_map.h"

namespace dlvidx::dap {

void IndexLoader::launch_answered(int64_t request_seq, bool success) {
  auto it = pending_binary_.find(request_seq);
  if (it == pending_binary_.end()) return;
  std::string binary = it->second;
  pending_binary_.erase(it);
  if (success) load(binary);  // dlv has built it now
}

void IndexLoader::load(std::string binary) {
  if (index_ || state_ == State::kLoading || state_ == State::kDisabled) return;
  state_ = State::kLoading;
  log_.info("index: loading for {}", binary);
  // The thread holds the session until its result is posted back.
  auto keep = life_.hold();
  std::string cache = cache_dir_;
  std::thread([this, keep, binary, cache]() mutable {
    index::BuildOptions o;
    o.cache_dir = cache;
    index::BuildReport r;
    std::optional<index::IndexHandle> h;
    std::string error;
    try {
      h.emplace(index::open_index(binary, o, &r));
    } catch (const std::exception& e) {
      error = e.what();
    }
    // (moved: the session is never released, and so never destroyed, on this thread)
    boost::asio::post(io_, [this, keep = std::move(keep), h = std::move(h), r, error]() mutable {
      loaded(std::move(h), r, error);
    });
  }).detach();
}

void IndexLoader::give_up_waiting() {
  if (state_ == State::kLoading) state_ = State::kNone;  // until it arrives, treat it as absent
}

// A restart: dlv may rebuild the binary, which may be changing on disk under
// the index; dlv resolves everything for the rest of the session.
void IndexLoader::disable() {
  index_.reset();
  snapper_.reset();
  mapped_.clear();
  state_ = State::kDisabled;
}

void IndexLoader::loaded(std::optional<index::IndexHandle> h, const index::BuildReport& r,
                         std::string error) {
  if (state_ == State::kDisabled || phase_.closing()) return ready(std::nullopt, r, error);
  if (h && h->view().header().pie) {
    if (h->view().header().moduledata_addr == 0)
      return ready(std::nullopt, r,
                   "position-independent binary without runtime.firstmoduledata in its DWARF");
    return learn_load_bias(std::make_shared<index::IndexHandle>(std::move(*h)), r);
  }
  ready(std::move(h), r, error);
}

// A position-independent binary runs at link address + bias, which only the
// debugger knows: dlv evaluates the runtime address of a global whose link
// address the index recorded. dlv answers requests in order, so this comes
// after the launch/attach that loaded the process.
void IndexLoader::learn_load_bias(std::shared_ptr<index::IndexHandle> h, index::BuildReport r) {
  dlv_.call("evaluate", {{"expression", "uintptr(&runtime.firstmoduledata)"}, {"context", "repl"}},
            [this, h, r](const json::object& resp) {
              const uint64_t link = h->view().header().moduledata_addr;
              const json::object* body = get_object(resp, "body");
              std::string result = body ? get_string(*body, "result").value_or("") : "";
              uint64_t runtime = 0;
              auto [_, ec] = std::from_chars(result.data(), result.data() + result.size(), runtime);
              std::string error;
              if (!get_bool(resp, "success").value_or(false) || ec != std::errc())
                error = fmt::format(
                    "position-independent binary: dlv did not give runtime.firstmoduledata's "
                    "address ({})",
                    result.empty() ? get_string(resp, "message").value_or("no answer") : result);
              else if (runtime < link || (runtime - link) % 4096 != 0)
                error = fmt::format(
                    "position-independent binary: load bias {:#x} - {:#x} is not page-aligned",
                    runtime, link);
              if (!error.empty()) return ready(std::nullopt, r, error);
              load_bias_ = runtime - link;
              log_.info("index: load bias {:#x}", load_bias_);
              ready(std::move(*h), r, "");
            });
}

void IndexLoader::ready(std::optional<index::IndexHandle> h, const index::BuildReport& r,
                        const std::string& error) {
  if (state_ == State::kLoading) state_ = State::kNone;
  if (state_ == State::kDisabled || phase_.closing()) {
    // a restart happened meanwhile, or the session is ending: dlv has it all
  } else if (h) {
    log_.info("index: {} {} keys from {} in {:.1f} ms", r.built ? "built" : "opened", r.keys,
              index::to_string(h->source()), r.total_ms);
    snapper_.reset();
    index_.emplace(std::move(*h));
  } else {
    log_.warn("index: unavailable ({}); breakpoints go to dlv unchanged", error);
  }
  settled_();
}

std::optional<uint32_t> IndexLoader::map_source(const std::string& client_path) {
  auto it = mapped_.find(client_path);
  if (it != mapped_.end()) return it->second;
  PathMapping m = map_client_path(*view(), client_path, substitute_);
  if (m.file)
    log_.info("source {} -> {} ({})", client_path, view()->file_path(*m.file), m.how);
  else
    log_.info("source {}: not in the index ({}); left to dlv", client_path, m.how);
  mapped_[client_path] = m.file;
  return m.file;
}

index::SnappedLocation IndexLoader::snap(uint32_t file, int64_t line) {
  if (!snapper_) snapper_.emplace(*view());
  index::SnappedLocation at = snapper_->snap(file, line);
  for (uint64_t& pc : at.pcs) pc += load_bias_;  // runtime address
  return at;
}

}  // namespace dlvidx::dap

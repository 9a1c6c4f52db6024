#include "dap-shim/index_loader.h"

#include <charconv>
#include <filesystem>
#include <thread>

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
  std::error_code ec;
  auto mtime = std::filesystem::last_write_time(binary, ec);
  if (!ec) facts_.binary_mtime = mtime;
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
  resolvers_.reset();
  index_.reset();
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
    resolvers_.reset();
    index_.emplace(std::move(*h));
  } else {
    log_.warn("index: unavailable ({}); breakpoints go to dlv unchanged", error);
  }
  settled_();
}

IndexLoader::Resolvers& IndexLoader::resolvers() {
  if (!resolvers_) {
    std::vector<index::PathRule> rules;
    for (const auto& r : substitute_) rules.push_back({r.from, r.to});
    resolvers_ = std::make_unique<Resolvers>(*view(), std::move(rules), facts_);
  }
  return *resolvers_;
}

std::optional<uint32_t> IndexLoader::map_source(const std::string& client_path) {
  auto it = mapped_.find(client_path);
  if (it != mapped_.end()) return it->second;
  const index::PathMapping& m = resolvers().map.map(client_path);
  if (m.file) {
    log_.info("source {} -> {} ({}{}{})", client_path, view()->file_path(*m.file), m.rule,
              m.detail.empty() ? "" : ": ", m.detail);
    if (view()->file_path(*m.file) != client_path) remapped_ = true;
  } else {
    log_.info("source {}: not in the index ({}); left to dlv", client_path, m.detail);
  }
  mapped_[client_path] = m.file;
  return m.file;
}

index::Diagnosis IndexLoader::diagnose(const std::string& client_path, int64_t line) {
  map_source(client_path);  // logs the mapping once
  index::Diagnosis d = resolvers().diagnoser.diagnose(client_path, line);
  for (uint64_t& pc : d.pcs) pc += load_bias_;  // runtime address
  return d;
}

std::optional<std::string> IndexLoader::client_path_of(std::string_view recorded) {
  if (!remaps_paths()) return std::nullopt;
  auto file = view()->file_id(recorded);
  if (!file) return std::nullopt;
  auto p = resolvers().map.client_path_of(*file);
  if (p && *p == recorded) return std::nullopt;
  return p;
}

}  // namespace dlvidx::dap

// launch / attach: learn the binary so its index can be loaded (from shared
// memory or the cache, or built in the background) while dlv starts it.
//   exec, core, replay: "program";  debug, test: the "output" dlv builds to
//   (set to a path the shim owns when the client left it out);
//   attach local: /proc/PID/exe.  Remote attach: no binary, no index.
// substitutePath rules are kept for mapping the client's paths.
#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <thread>

#include "dap-shim/session.h"
#include "index/build.h"
#include "preload/error.h"

namespace dlvidx::dap {
namespace fs = std::filesystem;

namespace {

std::string absolute_in(const std::string& p, const std::string& cwd) {
  fs::path path(p);
  if (path.is_absolute()) return path.lexically_normal().string();
  return (fs::path(cwd.empty() ? fs::current_path().string() : cwd) / path).lexically_normal().string();
}

std::vector<SubstitutePath> substitute_rules(const json::object& args) {
  std::vector<SubstitutePath> out;
  if (const json::array* a = get_array(args, "substitutePath"))
    for (const auto& v : *a)
      if (v.is_object())
        out.push_back({get_string(v.as_object(), "from").value_or(""), get_string(v.as_object(), "to").value_or("")});
  return out;
}

}  // namespace

bool Session::on_launch(json::object& req, std::string_view raw) {
  json::object* args = nullptr;
  if (auto* a = req.if_contains("arguments"); a && a->is_object()) args = &a->as_object();
  if (!args) return false;
  substitute_ = substitute_rules(*args);
  std::string mode = get_string(*args, "mode").value_or("debug");
  std::string cwd = get_string(*args, "cwd").value_or("");
  if (mode == "exec" || mode == "core" || mode == "replay") {
    if (auto program = get_string(*args, "program")) load_index(absolute_in(*program, cwd));
    return false;
  }
  if (mode != "debug" && mode != "test") return false;
  bool modified = false;
  std::string output;
  if (auto o = get_string(*args, "output"); o && !o->empty()) {
    output = absolute_in(*o, "");  // dlv resolves it against its own cwd, which is ours
  } else {
    const char* xdg = std::getenv("XDG_CACHE_HOME");
    const char* home = std::getenv("HOME");
    fs::path dir = xdg && *xdg == '/' ? fs::path(xdg) / "dlvidx" / "bin"
                   : home          ? fs::path(home) / ".cache" / "dlvidx" / "bin"
                                   : fs::temp_directory_path() / "dlvidx-bin";
    std::error_code ec;
    fs::create_directories(dir, ec);
    output = (dir / fmt::format("__debug_bin_{}", getpid())).string();
    (*args)["output"] = output;
    modified = true;
  }
  pending_binary_[get_int(req, "seq").value_or(0)] = output;
  if (modified) send_dlv_raw(encode_frame(json::serialize(req)));
  return modified;
}

bool Session::on_attach(json::object& req, std::string_view) {
  const json::object* args = get_object(req, "arguments");
  if (!args) return false;
  substitute_ = substitute_rules(*args);
  if (get_string(*args, "mode").value_or("local") != "local") return false;
  if (auto pid = get_int(*args, "processId"); pid && *pid > 0) {
    std::error_code ec;
    fs::path exe = fs::read_symlink(fmt::format("/proc/{}/exe", *pid), ec);
    if (!ec) load_index(exe.string());
  }
  return false;
}

void Session::on_launch_response(const json::object& resp) {
  auto it = pending_binary_.find(get_int(resp, "request_seq").value_or(-1));
  if (it == pending_binary_.end()) return;
  std::string binary = it->second;
  pending_binary_.erase(it);
  if (get_bool(resp, "success").value_or(false)) load_index(binary);  // dlv has built it now
}

// restart: dlv may rebuild the binary (debug/test) and keeps instruction
// breakpoints at their old addresses. So before dlv restarts, every source the
// shim armed is handed back to dlv's own setBreakpoints (dlv re-resolves them
// by file:line after the restart), and the index is dropped for the rest of
// the session: the binary on disk may be changing under it.
void Session::on_restart(const json::object&) {
  if (!sources_.empty()) {
    log_->info("restart: handing {} sources back to dlv", sources_.size());
    for (auto& [path, src] : sources_) {
      json::value bps = src.breakpoints.is_array() ? src.breakpoints : json::value(json::array{});
      call_dlv("setBreakpoints", {{"source", src.source}, {"breakpoints", bps}}, [](const json::object&) {});
      dlv_sources_.insert(path);
    }
    sources_.clear();
    rearm([](const json::object&) {});  // only the client's own instruction breakpoints remain
  }
  index_.reset();
  index_disabled_ = true;
  spans_.clear();
  mapped_.clear();
}

void Session::load_index(std::string binary) {
  if (index_ || index_pending_ || index_disabled_) return;
  binary_ = binary;
  index_pending_ = true;
  log_->info("index: loading for {}", binary);
  auto self = shared_from_this();
  std::string cache = opts_.cache_dir;
  std::thread([this, self, binary, cache] {
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
    asio::post(io_, [this, self, h = std::move(h), r, error]() mutable { index_loaded(std::move(h), r, error); });
  }).detach();
}

void Session::index_loaded(std::optional<index::IndexHandle> h, const index::BuildReport& r, std::string error) {
  if (index_disabled_ || closing_) return index_ready(std::nullopt, r, error);
  if (h && h->view().header().pie) {
    if (h->view().header().moduledata_addr == 0)
      return index_ready(std::nullopt, r, "position-independent binary without runtime.firstmoduledata in its DWARF");
    return learn_load_bias(std::make_shared<index::IndexHandle>(std::move(*h)), r);
  }
  index_ready(std::move(h), r, error);
}

// A position-independent binary runs at link address + bias, which only the
// debugger knows: dlv evaluates the runtime address of a global whose link
// address the index recorded. dlv answers requests in order, so this comes
// after the launch/attach that loaded the process.
void Session::learn_load_bias(std::shared_ptr<index::IndexHandle> h, index::BuildReport r) {
  auto self = shared_from_this();
  call_dlv("evaluate", {{"expression", "uintptr(&runtime.firstmoduledata)"}, {"context", "repl"}},
           [this, self, h, r](const json::object& resp) {
             const uint64_t link = h->view().header().moduledata_addr;
             const json::object* body = get_object(resp, "body");
             std::string result = body ? get_string(*body, "result").value_or("") : "";
             uint64_t runtime = 0;
             auto [_, ec] = std::from_chars(result.data(), result.data() + result.size(), runtime);
             std::string error;
             if (!get_bool(resp, "success").value_or(false) || ec != std::errc())
               error = fmt::format("position-independent binary: dlv did not give runtime.firstmoduledata's address ({})",
                                   result.empty() ? get_string(resp, "message").value_or("no answer") : result);
             else if (runtime < link || (runtime - link) % 4096 != 0)
               error = fmt::format("position-independent binary: load bias {:#x} - {:#x} is not page-aligned", runtime, link);
             if (!error.empty()) return index_ready(std::nullopt, r, error);
             load_bias_ = runtime - link;
             log_->info("index: load bias {:#x}", load_bias_);
             index_ready(std::move(*h), r, "");
           });
}

void Session::index_ready(std::optional<index::IndexHandle> h, const index::BuildReport& r, const std::string& error) {
  index_pending_ = false;
  bool was_waiting = std::exchange(waiting_for_index_, false);
  if (index_wait_timer_) index_wait_timer_->cancel();
  if (index_disabled_ || closing_) {
    // a restart happened meanwhile, or the session is ending: dlv has it all
  } else if (h) {
    log_->info("index: {} {} keys from {} in {:.1f} ms", r.built ? "built" : "opened", r.keys,
               index::to_string(h->source()), r.total_ms);
    index_.emplace(std::move(*h));
  } else {
    log_->warn("index: unavailable ({}); breakpoints go to dlv unchanged", error);
  }
  if (was_waiting) drain_held();
}

}  // namespace dlvidx::dap

// The index of the binary being debugged: learnt from launch/attach, opened
// from shared memory or the cache (or built) on a background thread while dlv
// starts the program, and -- for a position-independent binary -- shifted by
// the load bias dlv reports. Also maps the client's paths to its files, and
// says why a breakpoint binds where it does or cannot bind (index/diagnose.h).
//
//   kNone ──load()──▶ kLoading ──▶ kNone, with the index or without (unavailable)
//   kLoading ──give_up_waiting()──▶ kNone (the index may still arrive)
//   any ──disable() (restart)──▶ kDisabled: dlv resolves everything from then on
#pragma once

#include <spdlog/logger.h>

#include <boost/asio.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "dap-shim/dlv_calls.h"
#include "dap-shim/phase.h"
#include "dap-shim/protocol_requests.h"
#include "index/build.h"
#include "index/diagnose.h"
#include "index/snap.h"
#include "index/source_map.h"
#include "index/store.h"

namespace dlvidx::dap {

class IndexLoader {
 public:
  enum class State { kNone, kLoading, kDisabled };  // ready: index_ holds it
  // `settled` runs on the io thread each time a load ends, however it ended.
  IndexLoader(boost::asio::io_context& io, const Lifetime& life, const SessionPhase& phase,
              spdlog::logger& log, DlvCalls& dlv, std::string cache_dir,
              std::function<void()> settled)
      : io_(io),
        life_(life),
        phase_(phase),
        log_(log),
        dlv_(dlv),
        cache_dir_(std::move(cache_dir)),
        settled_(std::move(settled)) {}

  // The launch/attach's substitutePath rules (for map_source) and mode.
  void set_substitute_paths(std::vector<SubstitutePath> rules) { substitute_ = std::move(rules); }
  void set_mode(std::string mode) { facts_.mode = std::move(mode); }
  // launch with noDebug: dlv runs the program without a debugger, and sets no breakpoints.
  void set_no_debug() { no_debug_ = true; }
  bool no_debug() const { return no_debug_; }
  // A launch that builds `binary` (debug/test): loaded once dlv answers it successfully.
  void expect_binary(int64_t launch_seq, std::string binary) {
    pending_binary_[launch_seq] = std::move(binary);
  }
  void launch_answered(int64_t request_seq, bool success);
  // Starts loading in the background, unless an index is loaded, loading or disabled.
  void load(std::string binary);
  void give_up_waiting();
  void disable();

  bool loading() const { return state_ == State::kLoading; }
  const index::IndexView* view() const { return index_ ? &index_->view() : nullptr; }
  // The index file of a client path (logged once per path); nullopt: dlv's.
  std::optional<uint32_t> map_source(const std::string& client_path);
  // Where a breakpoint on a client's file:line goes (runtime addresses), or why it cannot.
  index::Diagnosis diagnose(const std::string& client_path, int64_t line);
  // The client's path of a path dlv reports (the binary's), when the shim mapped it elsewhere.
  std::optional<std::string> client_path_of(std::string_view recorded);
  bool remaps_paths() const { return view() && remapped_; }

 private:
  // The background load's end, on the io thread: a position-independent
  // binary first learns its load bias from dlv (learn_load_bias).
  void loaded(std::optional<index::IndexHandle> h, const index::BuildReport& r, std::string error);
  void learn_load_bias(std::shared_ptr<index::IndexHandle> h, index::BuildReport r);
  void ready(std::optional<index::IndexHandle> h, const index::BuildReport& r,
             const std::string& error);

  boost::asio::io_context& io_;
  const Lifetime& life_;
  const SessionPhase& phase_;
  spdlog::logger& log_;
  DlvCalls& dlv_;
  std::string cache_dir_;
  std::function<void()> settled_;

  State state_ = State::kNone;
  std::optional<index::IndexHandle> index_;
  // Over index_, made on first use.
  struct Resolvers {
    Resolvers(const index::IndexView& v, std::vector<index::PathRule> rules,
              index::SessionFacts facts)
        : map(v, std::move(rules)), snap(v), diagnoser(v, map, snap, std::move(facts)) {}
    index::SourceMap map;
    index::LineSnapper snap;
    index::Diagnoser diagnoser;
  };
  Resolvers& resolvers();
  std::unique_ptr<Resolvers> resolvers_;
  index::SessionFacts facts_;
  bool no_debug_ = false;
  bool remapped_ = false;   // some client path maps to another path of the binary
  uint64_t load_bias_ = 0;  // runtime - link address (position-independent binaries)
  std::unordered_map<int64_t, std::string> pending_binary_;  // launch seq -> binary dlv will build
  std::vector<SubstitutePath> substitute_;                   // client -> server
  std::map<std::string, std::optional<uint32_t>> mapped_;    // client path -> file (logged once)
};

}  // namespace dlvidx::dap

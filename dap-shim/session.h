// One debugging session: the editor's connection on one side, the real
// `dlv dap` on the other. Frames from either side are decoded (transport.h),
// routed by command/event, and forwarded byte for byte unless a handler
// intercepts them (handlers/*.cc, one per request). Breakpoints whose source
// maps to the index are armed through dlv's setInstructionBreakpoints with the
// addresses dlv itself would pick; everything else is dlv's.
//
// Requests the shim sends dlv itself carry seqs >= kShimSeqBase; their
// responses stay here. dlv numbers everything seq 0, and so does the shim.
// Any failure inside a handler falls back to forwarding the request as it was.
#pragma once

#include <spdlog/logger.h>

#include <boost/asio.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <tuple>
#include <string>
#include <unordered_map>
#include <vector>

#include "dap-shim/dlv_process.h"
#include "dap-shim/path_map.h"
#include "dap-shim/protocol.h"
#include "dap-shim/transport.h"
#include "index/build.h"
#include "index/store.h"

namespace dlvidx::dap {

namespace asio = boost::asio;
using Socket = asio::generic::stream_protocol::socket;

struct ShimOptions {
  std::string dlv;                    // the real dlv
  std::vector<std::string> dlv_args;  // passed through to `dlv dap`
  std::string cache_dir;              // index cache ("" = default)
  // A client request dlv has not answered after this long gets an error
  // response from the shim (dlv hung or stopped); launch/attach/restart,
  // which may build the program, get kBuildTimeout.
  std::chrono::seconds request_timeout{30};
};
inline constexpr std::chrono::seconds kBuildTimeout{900};

// A breakpoint of a source the shim manages.
struct ShimBreakpoint {
  int64_t id = 0;             // the shim's id, stable while the line stays set
  int64_t requested_line = 0;
  int64_t line = 0;           // where it is armed (after snapping)
  std::string message;        // "moved from line N: ..." or Delve's error
  std::vector<uint64_t> pcs;  // runtime addresses
  std::string condition, hitCondition;
  bool verified = false;
};

struct ManagedSource {
  json::value source;       // the client's Source, echoed back
  json::value breakpoints;  // the client's SourceBreakpoints, as sent
  uint32_t file = 0;        // index file id
  std::vector<ShimBreakpoint> bps;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(asio::io_context& io, ShimOptions opts, std::shared_ptr<spdlog::logger> log);
  // Starts dlv right away (before the client connects), so its start-up is
  // not on the client's clock.
  void start_dlv();
  // The client's connection: the session begins.
  void attach_client(Socket client);
  // Ends the session: ask dlv to stop the debuggee, then make sure dlv and
  // what it started are gone. Idempotent.
  void shutdown(const std::string& why);
  // Ends the session from outside (a signal): the client is told why and
  // gets `terminated` first.
  void terminate(const std::string& why);
  int exit_code() const { return exit_code_; }

 private:
  // --- transport ---
  void read_client();
  void read_dlv();
  void on_client_message(std::string_view body, std::string_view raw);
  void handle_client_message(const std::string& body, const std::string& raw);
  // Client messages wait here, in order, while the shim is arming breakpoints
  // or the index is about to be ready: dlv must not see configurationDone (or
  // continue) before the breakpoints that precede it are armed.
  bool holding() const;
  void drain_held();
  std::deque<std::pair<std::string, std::string>> held_;  // (body, raw)
  bool waiting_for_index_ = false;
  std::shared_ptr<asio::steady_timer> index_wait_timer_;
  void on_dlv_message(std::string_view body, std::string_view raw);
  void send_client(const json::object& msg);
  void send_client_raw(std::string frame);
  void send_dlv_raw(std::string frame);
  void write_next(std::deque<std::string>& q, bool& busy);
  void on_dlv_gone(const std::string& why);
  // The client sent something the session cannot go on from: say why in an
  // output event, send terminated, end the session.
  void close_client(const std::string& why);
  void finish();
  bool dlv_hung_ = false;  // a request timed out and dlv has said nothing since

  // --- the request watchdog ---
  struct Outstanding {
    std::string command;
    std::chrono::steady_clock::time_point since;
  };
  void note_request(int64_t seq, const std::string& command);
  // False if the response is for a request the shim already answered.
  bool note_response(int64_t request_seq);
  void check_outstanding();
  std::map<int64_t, Outstanding> outstanding_;  // client request seq -> what and since when
  std::set<int64_t> timed_out_;                 // answered by the shim; dlv's late answer is dropped
  std::shared_ptr<asio::steady_timer> watchdog_;

  // --- requests the shim sends dlv ---
  using Reply = std::function<void(const json::object& response)>;
  void call_dlv(std::string_view command, json::object arguments, Reply reply);

  // --- handlers (handlers/*.cc) ---
  bool on_launch(json::object& req, std::string_view raw);                   // launch.cc
  bool on_attach(json::object& req, std::string_view raw);                   // launch.cc
  void on_launch_response(const json::object& resp);                         // launch.cc
  bool on_set_breakpoints(const json::object& req, std::string_view raw);    // set_breakpoints.cc
  bool on_set_instruction_breakpoints(const json::object& req);              // set_instruction_breakpoints.cc
  void on_breakpoint_locations(const json::object& req);                     // breakpoint_locations.cc
  void on_initialize_response(json::object& resp);                           // initialize.cc
  bool on_stopped_event(json::object& ev);                                   // events.cc
  bool on_breakpoint_event(json::object& ev);                                // events.cc
  void on_restart(const json::object& req);                                  // launch.cc

  // --- index and breakpoints ---
  void load_index(std::string binary);
  // The background load's end, on the io thread: a position-independent
  // binary first learns its load bias from dlv (learn_load_bias).
  void index_loaded(std::optional<index::IndexHandle> h, const index::BuildReport& r, std::string error);
  void learn_load_bias(std::shared_ptr<index::IndexHandle> h, index::BuildReport r);
  void index_ready(std::optional<index::IndexHandle> h, const index::BuildReport& r, const std::string& error);
  const index::IndexView* index() const { return index_ ? &index_->view() : nullptr; }
  std::optional<uint32_t> map_source(const std::string& client_path);
  ShimBreakpoint resolve(uint32_t file, const SourceBreakpoint& want);
  // Sends dlv the union of all armed addresses and the client's own
  // instruction breakpoints; `done` runs with dlv's answer. One at a time.
  void rearm(std::function<void(const json::object& response)> done);
  void run_rearm_queue();
  // Stops managing a source (its requests go to dlv again); re-arms if needed.
  void release_source(const std::string& path);
  // Which function owns a line without code: the innermost function whose
  // lines in this file span it (per file, computed once).
  std::optional<uint32_t> owner_function(uint32_t file, uint32_t line);
  std::map<uint32_t, std::vector<std::tuple<uint32_t, uint32_t, uint32_t>>> spans_;  // file -> (fn, min, max)

  asio::io_context& io_;
  Socket client_;
  asio::ip::tcp::socket dlv_sock_;
  ShimOptions opts_;
  std::shared_ptr<spdlog::logger> log_;
  std::unique_ptr<DlvProcess> dlv_;

  FrameDecoder from_client_, from_dlv_;
  std::array<char, 65536> client_buf_{}, dlv_buf_{};
  std::deque<std::string> to_client_, to_dlv_, dlv_backlog_;
  bool client_busy_ = false, dlv_busy_ = false, dlv_connected_ = false;
  bool client_attached_ = false;
  bool closing_ = false, client_open_ = true, disconnect_sent_ = false, finished_ = false;
  int exit_code_ = 0;

  int64_t next_seq_ = kShimSeqBase;
  std::unordered_map<int64_t, Reply> replies_;
  std::unordered_map<int64_t, std::string> pending_binary_;  // launch seq -> binary dlv will build
  bool dlv_instruction_bps_ = false;  // dlv advertised supportsInstructionBreakpoints

  // Index state (filled on the io thread when the background build finishes).
  std::optional<index::IndexHandle> index_;
  bool index_pending_ = false;
  std::string binary_;  // the binary the index is for
  uint64_t load_bias_ = 0;  // runtime - link address (position-independent binaries)
  bool index_disabled_ = false;  // after a restart: dlv resolves everything
  std::vector<SubstitutePath> substitute_;  // client -> server
  std::map<std::string, std::optional<uint32_t>> mapped_;  // client path -> file (logged once)

  // Breakpoints.
  std::map<std::string, ManagedSource> sources_;          // client path -> managed source
  std::set<std::string> dlv_sources_;                     // client paths dlv holds breakpoints for
  std::vector<InstructionBreakpoint> client_instruction_; // the client's own
  std::unordered_map<int64_t, std::vector<int64_t>> dlv_to_shim_;  // dlv bp id -> shim ids
  std::map<std::pair<std::string, int64_t>, int64_t> ids_;          // (path, requested line) -> shim id
  int64_t next_id_ = 1'000'000;
  std::deque<std::function<void(const json::object&)>> rearm_queue_;
  bool rearm_busy_ = false;
};

}  // namespace dlvidx::dap

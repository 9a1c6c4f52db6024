// One debugging session: the editor's connection on one side, the real
// `dlv dap` on the other. Frames from either side are decoded (connection.h),
// routed through the dispatch tables (handler.h, handlers/), and forwarded
// byte for byte unless a handler intercepts them. Breakpoints whose source
// maps to the index are armed through dlv's setInstructionBreakpoints with the
// addresses dlv itself would pick (breakpoint_table.h); everything else is dlv's.
//
// The session owns its components, each with one job, and its phase
// (phase.h): the two connections, the request watchdog, the shim's own
// requests to dlv, the index loader, the breakpoint table, the hold queue.
// Requests the shim sends dlv itself carry seqs >= kShimSeqBase; their
// responses stay here. dlv numbers everything seq 0, and so does the shim.
// Any failure inside a handler falls back to forwarding the message as it was.
#pragma once

#include <spdlog/logger.h>

#include <boost/asio.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "dap-shim/breakpoint_table.h"
#include "dap-shim/client_out.h"
#include "dap-shim/connection.h"
#include "dap-shim/dlv_calls.h"
#include "dap-shim/dlv_process.h"
#include "dap-shim/handler.h"
#include "dap-shim/hold_queue.h"
#include "dap-shim/index_loader.h"
#include "dap-shim/phase.h"
#include "dap-shim/watchdog.h"

namespace dlvidx::dap {

struct ShimOptions {
  std::string dlv;                    // the real dlv
  std::vector<std::string> dlv_args;  // passed through to `dlv dap`
  std::string cache_dir;              // index cache ("" = default)
  // A client request dlv has not answered after this long gets an error
  // response from the shim (dlv hung or stopped); launch/attach/restart,
  // which may build the program, get kBuildTimeout.
  std::chrono::seconds request_timeout{30};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  // The only way to make one: it binds the lifetime the components' async operations hold.
  static std::shared_ptr<Session> create(asio::io_context& io, ShimOptions opts,
                                         std::shared_ptr<spdlog::logger> log);
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

  struct Key {  // only create() can make one
    explicit Key() = default;
  };
  Session(Key, asio::io_context& io, ShimOptions opts, std::shared_ptr<spdlog::logger> log);

 private:
  // --- routing (session_route.cc) ---
  void on_client_message(std::string_view body, std::string_view raw);
  void handle_client_message(const std::string& body, const std::string& raw);
  void on_dlv_message(std::string_view body, std::string_view raw);
  // Whether the first bytes of a dlv message show that no handler wants it.
  bool passes_through(std::string_view body, int64_t& response_seq) const;

  // --- life (session.cc) ---
  void connected_to_dlv(const std::string& host, uint16_t port);
  void on_dlv_gone(const std::string& why);
  // The client sent something the session cannot go on from: say why in an
  // output event, send terminated, end the session.
  void close_client(const std::string& why);
  // The client gets an output event saying `text` and `terminated`; then shutdown(why).
  void end_session(const std::string& text, int exit_code, const std::string& why);
  void finish_after(std::chrono::milliseconds delay);
  void finish();
  void wait_for_dlv_exit(int ticks, bool hung);
  void finished();

  asio::io_context& io_;
  ShimOptions opts_;
  std::shared_ptr<spdlog::logger> log_;
  SessionPhase phase_;
  Lifetime life_;
  int exit_code_ = 0;

  Connection client_, dlv_;
  RequestWatchdog watchdog_;
  ClientOut to_client_;
  DlvCalls calls_;
  IndexLoader index_;
  BreakpointTable breakpoints_;
  HoldQueue held_;
  std::unique_ptr<DlvProcess> dlv_process_;
  asio::steady_timer finish_timer_;

  // Dispatch: client requests by command; dlv's events by event, responses by command.
  HandlerTable<RequestHandler> requests_;
  HandlerTable<DlvMessageHandler> events_, responses_;
  std::vector<std::string> dlv_events_, dlv_responses_;  // their names + '"', for passes_through
};

}  // namespace dlvidx::dap

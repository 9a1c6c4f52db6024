// The session's life: its components and dispatch tables wired once, dlv
// started and connected, the client attached, and the way out (phase.h):
// shutdown -> finish -> finished, every wait an asio timer.
#include "dap-shim/session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "dap-shim/handlers/handlers.h"
#include "preload/error.h"

namespace dlvidx::dap {

using namespace std::chrono_literals;

Session::Session(Key, asio::io_context& io, ShimOptions opts, std::shared_ptr<spdlog::logger> log)
    : io_(io),
      opts_(std::move(opts)),
      log_(std::move(log)),
      client_(io, life_, *log_, "<--"),
      dlv_(io, life_, *log_, "-->"),
      watchdog_(io, life_, phase_, *log_, opts_.request_timeout,
                {[this](const json::object& error) {
                   // The shim's own request: its reply takes the error (arming: the
                   // breakpoints are reported unbound, breakpoint_table.cc).
                   if (get_int(error, "request_seq").value_or(0) >= kShimSeqBase)
                     return calls_.answer(envelope(error), error);
                   to_client_.send(error);
                 },
                 [this] {
                   to_client_.send(make_event("terminated", {}));
                   exit_code_ = 1;
                   shutdown("dlv did not answer disconnect");
                 }}),
      to_client_(client_, watchdog_),
      calls_(dlv_, *log_,
             [this](int64_t seq, const std::string& command) {
               watchdog_.note_request(seq, command);
             }),
      index_(io, life_, phase_, *log_, calls_, opts_.cache_dir, [this] { held_.index_settled(); }),
      breakpoints_(
          calls_, index_, *log_, [this] { held_.drain(); },
          [this](const ManagedSource& src, const ShimBreakpoint& bp) {
            // dlv refused (or later accepted) what the client was told: say so.
            BreakpointEventBody ev{"changed", to_breakpoint(src, bp), {}};
            if (!bp.verified)
              log_->warn("breakpoint {}:{} not bound: {}", src.source.path.value_or(""),
                         bp.requested_line, bp.refused);
            to_client_.send(make_event("breakpoint", to_json(ev)));
          }),
      held_(
          io, life_, *log_, breakpoints_,
          [this](const std::string& body, const std::string& raw) {
            handle_client_message(body, raw);
          },
          [this] { index_.give_up_waiting(); }),
      finish_timer_(io) {
  requests_.add<LaunchHandler>(index_);
  requests_.add<AttachHandler>(index_);
  requests_.add<SetBreakpointsHandler>(index_, breakpoints_, to_client_, *log_);
  requests_.add<SetInstructionBreakpointsHandler>(breakpoints_, to_client_);
  requests_.add<BreakpointLocationsHandler>(index_, to_client_);
  requests_.add<RestartHandler>(breakpoints_, index_, *log_);
  requests_.add<DisconnectHandler>(phase_);
  events_.add<StoppedEventHandler>(breakpoints_);
  events_.add<BreakpointEventHandler>(breakpoints_);
  responses_.add<InitializeResponseHandler>(breakpoints_, *log_);
  responses_.add<LaunchResponseHandler>(index_);
  responses_.add<AttachResponseHandler>(index_);
  responses_.add<SetBreakpointsResponseHandler>(index_, breakpoints_, *log_);
  responses_.add<StackTraceResponseHandler>(index_);
  responses_.add<DisconnectResponseHandler>([this] {
    auto keep = life_.hold();
    asio::post(io_, [this, keep] { shutdown("the session ended (disconnect)"); });
  });
  for (auto& n : events_.names()) dlv_events_.push_back(n + '"');
  for (auto& n : responses_.names()) dlv_responses_.push_back(n + '"');
}

std::shared_ptr<Session> Session::create(asio::io_context& io, ShimOptions opts,
                                         std::shared_ptr<spdlog::logger> log) {
  auto s = std::make_shared<Session>(Key(), io, std::move(opts), std::move(log));
  s->life_.bind(s);
  return s;
}

void Session::attach_client(Socket client) {
  boost::system::error_code ec;
  int one = 1;
  if (client.local_endpoint(ec).protocol().family() != AF_UNIX)
    setsockopt(client.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  client_.attach(std::move(client));  // what is queued (e.g. dlv failed to start) goes out now
  if (phase_.closing()) {
    // The session already ended (dlv died before the client came): the
    // client reads why, then the shim exits.
    return finish_after(200ms);
  }
  client_.read(
      {[this](std::string_view body, std::string_view raw) { on_client_message(body, raw); },
       [this](const boost::system::error_code& ec) {
         client_.mark_closed();
         if (!phase_.closing())
           shutdown(ec == asio::error::eof ? "the client closed the connection"
                                           : "client: " + ec.message());
       },
       [this](const std::string& error) {
         close_client("malformed frame from the client: " + error);
       },
       [this] { return !phase_.closing(); }});
}

void Session::start_dlv() {
  std::vector<std::string> args{"dap", "--listen=127.0.0.1:0"};
  args.insert(args.end(), opts_.dlv_args.begin(), opts_.dlv_args.end());
  try {
    dlv_process_ = std::make_unique<DlvProcess>(io_, opts_.dlv, args);
  } catch (const Error& e) {
    log_->error("{}", e.what());
    return end_session(fmt::format("dlvidx: {}\n", e.what()), 1, "dlv could not be started");
  }
  log_->info("started {} (pid {})", opts_.dlv, dlv_process_->pid());
  // dlv_process_ owns these callbacks: a strong reference here would be a cycle.
  std::weak_ptr<Session> weak = weak_from_this();
  dlv_process_->start(
      [this, weak](const std::string& host, uint16_t port, const std::string& error) {
        auto self = weak.lock();
        if (!self) return;
        if (!error.empty()) return on_dlv_gone(error);
        connected_to_dlv(host, port);
      },
      [this](const std::string& line) { log_->info("dlv: {}", line); });
}

// dlv listens on loopback: the connect is immediate (accepted or refused).
void Session::connected_to_dlv(const std::string& host, uint16_t port) {
  boost::system::error_code ec;
  asio::ip::tcp::socket s(io_);
  s.connect({asio::ip::make_address(host, ec), port}, ec);
  if (ec)
    return on_dlv_gone(fmt::format("cannot connect to dlv at {}:{}: {}", host, port, ec.message()));
  s.set_option(asio::ip::tcp::no_delay(true), ec);  // small frames, no Nagle delay
  log_->info("connected to dlv at {}:{}", host, port);
  phase_.advance(Phase::kRunning);  // (from kStarting only)
  auto proto = s.local_endpoint(ec).protocol();
  dlv_.attach(
      Socket(io_, asio::generic::stream_protocol(proto.family(), proto.protocol()), s.release()));
  dlv_.read(
      {[this](std::string_view body, std::string_view raw) {
         if (!phase_.finishing()) on_dlv_message(body, raw);
       },
       [this](const boost::system::error_code& ec) {
         if (!phase_.closing())
           on_dlv_gone(ec == asio::error::eof ? "dlv closed the connection"
                                              : "dlv: " + ec.message());
       },
       [this](const std::string& error) { on_dlv_gone("malformed frame from dlv: " + error); },
       [this] { return !phase_.finishing(); }});
}

void Session::terminate(const std::string& why) {
  if (phase_.closing()) return;
  if (!client_.attached()) return shutdown(why);  // (no client yet: nobody to tell)
  end_session(fmt::format("dlvidx: {}; ending the session\n", why), exit_code_, why);
}

void Session::close_client(const std::string& why) {
  if (phase_.closing()) return;
  log_->error("{}; closing the session", why);
  end_session(fmt::format("dlvidx: {}; closing the session\n", why), 1, why);
}

void Session::on_dlv_gone(const std::string& why) {
  if (phase_.closing()) return;
  std::string status =
      dlv_process_ && !dlv_process_->running() ? dlv_process_->describe_exit() : "";
  std::string text = fmt::format("dlvidx: dlv stopped unexpectedly: {}{}\n", why,
                                 status.empty() ? "" : " (" + status + ")");
  log_->error("{}", text);
  end_session(text, 1, why);
}

void Session::end_session(const std::string& text, int exit_code, const std::string& why) {
  to_client_.send(make_event("output", {{"category", "stderr"}, {"output", text}}));
  to_client_.send(make_event("terminated", {}));
  exit_code_ = exit_code;
  shutdown(why);
}

void Session::shutdown(const std::string& why) {
  const Phase was = phase_.get();
  if (!phase_.advance(Phase::kClosing)) return;
  log_->info("shutting down: {}", why);
  // kRunning: dlv is connected and nobody has asked it to disconnect yet.
  if (dlv_process_ && dlv_process_->running() && was == Phase::kRunning && !watchdog_.dlv_hung()) {
    // Ask dlv to end the debuggee the way a client's disconnect would.
    calls_.call("disconnect", {{"terminateDebuggee", true}},
                [this](const json::object&) { finish(); });
    return finish_after(3s);
  }
  // Let queued frames to the client go out first. A client that has not
  // connected yet (dlv died at start-up) gets a few seconds to come and
  // read why.
  bool waiting_client = !client_.attached() && client_.queued();
  finish_after(waiting_client ? 10000ms : 200ms);
}

void Session::finish_after(std::chrono::milliseconds delay) {
  auto t = std::make_shared<asio::steady_timer>(io_, delay);
  auto keep = life_.hold();
  t->async_wait([this, keep, t](boost::system::error_code) { finish(); });
}

// Ends dlv (and what it started), then closes both connections.
void Session::finish() {
  if (!phase_.advance(Phase::kFinishing)) return;
  if (!dlv_process_) return finished();
  // After a disconnect dlv exits by itself; give it a moment (3 s) unless it is hung.
  wait_for_dlv_exit(300, watchdog_.dlv_hung());
}

void Session::wait_for_dlv_exit(int ticks, bool hung) {
  if (ticks > 0 && !hung && dlv_process_->running()) {
    finish_timer_.expires_after(10ms);
    auto keep = life_.hold();
    finish_timer_.async_wait([this, keep, ticks, hung](boost::system::error_code ec) {
      if (!ec) wait_for_dlv_exit(ticks - 1, hung);
    });
    return;
  }
  if (dlv_process_->running())
    log_->info("dlv (pid {}) still running; stopping it", dlv_process_->pid());
  auto keep = life_.hold();
  dlv_process_->stop_async(hung ? 200ms : 2000ms, [this, keep] { finished(); });
}

void Session::finished() {
  client_.close();
  dlv_.close();
  // Drop what still holds the session: replies dlv will never send, queued
  // re-arms, held messages, pending timers.
  calls_.clear();
  breakpoints_.clear_queue();
  held_.clear();
  watchdog_.cancel();
  phase_.advance(Phase::kFinished);
  io_.stop();
}

}  // namespace dlvidx::dap

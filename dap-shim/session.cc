#include "dap-shim/session.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>

#include <chrono>
#include <thread>

#include "index/build.h"
#include "preload/error.h"

namespace dlvidx::dap {

Session::Session(asio::io_context& io, ShimOptions opts, std::shared_ptr<spdlog::logger> log)
    : io_(io), client_(io), dlv_sock_(io), opts_(std::move(opts)), log_(std::move(log)) {}

void Session::attach_client(Socket client) {
  client_ = std::move(client);
  client_attached_ = true;
  boost::system::error_code ec;
  int one = 1;
  if (client_.local_endpoint(ec).protocol().family() != AF_UNIX)
    setsockopt(client_.native_handle(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (!to_client_.empty() && !client_busy_) write_next(to_client_, client_busy_);  // e.g. dlv failed to start
  if (closing_) {
    // The session already ended (dlv died before the client came): the
    // client reads why, then the shim exits.
    auto self = shared_from_this();
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(200));
    t->async_wait([this, self, t](boost::system::error_code) { finish(); });
    return;
  }
  read_client();
}

void Session::start_dlv() {
  std::vector<std::string> args{"dap", "--listen=127.0.0.1:0"};
  args.insert(args.end(), opts_.dlv_args.begin(), opts_.dlv_args.end());
  try {
    dlv_ = std::make_unique<DlvProcess>(io_, opts_.dlv, args);
  } catch (const Error& e) {
    log_->error("{}", e.what());
    exit_code_ = 1;
    send_client(make_event("output", {{"category", "stderr"}, {"output", fmt::format("dlvidx: {}\n", e.what())}}));
    send_client(make_event("terminated", {}));
    shutdown("dlv could not be started");
    return;
  }
  log_->info("started {} (pid {})", opts_.dlv, dlv_->pid());
  // dlv_ owns this callback: a strong reference here would be a cycle.
  std::weak_ptr<Session> weak = weak_from_this();
  dlv_->start(
      [this, weak](const std::string& host, uint16_t port, const std::string& error) {
        auto self = weak.lock();
        if (!self) return;
        if (!error.empty()) return on_dlv_gone(error);
        boost::system::error_code ec;
        dlv_sock_.connect({asio::ip::make_address(host, ec), port}, ec);
        if (ec) return on_dlv_gone(fmt::format("cannot connect to dlv at {}:{}: {}", host, port, ec.message()));
        dlv_sock_.set_option(asio::ip::tcp::no_delay(true), ec);  // small frames, no Nagle delay
        log_->info("connected to dlv at {}:{}", host, port);
        dlv_connected_ = true;
        while (!dlv_backlog_.empty()) {
          to_dlv_.push_back(std::move(dlv_backlog_.front()));
          dlv_backlog_.pop_front();
        }
        if (!dlv_busy_) write_next(to_dlv_, dlv_busy_);
        read_dlv();
      },
      [this](const std::string& line) { log_->info("dlv: {}", line); });
}

// --- transport ----------------------------------------------------------------

void Session::read_client() {
  auto self = shared_from_this();
  client_.async_read_some(asio::buffer(client_buf_), [this, self](boost::system::error_code ec, size_t n) {
    if (ec) {
      client_open_ = false;
      if (!closing_) shutdown(ec == asio::error::eof ? "the client closed the connection" : "client: " + ec.message());
      return;
    }
    from_client_.feed({client_buf_.data(), n});
    std::string_view body, raw;
    for (;;) {
      auto st = from_client_.next(body, raw);
      if (st == FrameDecoder::Status::kNeedMore) break;
      if (st == FrameDecoder::Status::kError) return close_client("malformed frame from the client: " + from_client_.error());
      on_client_message(body, raw);
    }
    if (!closing_) read_client();
  });
}

void Session::read_dlv() {
  auto self = shared_from_this();
  dlv_sock_.async_read_some(asio::buffer(dlv_buf_), [this, self](boost::system::error_code ec, size_t n) {
    if (ec) {
      if (!closing_) on_dlv_gone(ec == asio::error::eof ? "dlv closed the connection" : "dlv: " + ec.message());
      return;
    }
    from_dlv_.feed({dlv_buf_.data(), n});
    std::string_view body, raw;
    for (;;) {
      auto st = from_dlv_.next(body, raw);
      if (st == FrameDecoder::Status::kNeedMore) break;
      if (st == FrameDecoder::Status::kError) return on_dlv_gone("malformed frame from dlv: " + from_dlv_.error());
      on_dlv_message(body, raw);
    }
    read_dlv();
  });
}

void Session::send_client(const json::object& msg) {
  if (auto* t = msg.if_contains("type"); t && t->is_string() && t->as_string() == "response")
    if (auto rs = get_int(msg, "request_seq")) outstanding_.erase(*rs);
  send_client_raw(encode_frame(json::serialize(msg)));
}

void Session::terminate(const std::string& why) {
  if (closing_) return;
  if (client_attached_) {  // (no client yet: nobody to wait for)
    send_client(make_event("output", {{"category", "stderr"}, {"output", fmt::format("dlvidx: {}; ending the session\n", why)}}));
    send_client(make_event("terminated", {}));
  }
  shutdown(why);
}

void Session::close_client(const std::string& why) {
  if (closing_) return;
  log_->error("{}; closing the session", why);
  send_client(make_event("output", {{"category", "stderr"}, {"output", fmt::format("dlvidx: {}; closing the session\n", why)}}));
  send_client(make_event("terminated", {}));
  exit_code_ = 1;
  shutdown(why);
}

// --- the request watchdog ---------------------------------------------------

void Session::note_request(int64_t seq, const std::string& command) {
  outstanding_.try_emplace(seq, Outstanding{command, std::chrono::steady_clock::now()});
  if (watchdog_) return;
  watchdog_ = std::make_shared<asio::steady_timer>(io_);
  check_outstanding();
}

bool Session::note_response(int64_t request_seq) {
  if (request_seq < 0) return true;
  if (timed_out_.erase(request_seq)) {
    log_->warn("dlv answered request {} after the shim had answered it (timed out); dropped", request_seq);
    return false;
  }
  outstanding_.erase(request_seq);
  return true;
}

void Session::check_outstanding() {
  if (closing_) return;
  auto now = std::chrono::steady_clock::now();
  bool end = false;
  for (auto it = outstanding_.begin(); it != outstanding_.end();) {
    auto& [seq, o] = *it;
    bool build = o.command == "launch" || o.command == "attach" || o.command == "restart";
    auto limit = build ? std::max(opts_.request_timeout, kBuildTimeout) : opts_.request_timeout;
    if (now - o.since < limit) {
      ++it;
      continue;
    }
    std::string text = fmt::format("dlv did not answer {} within {} s", o.command,
                                   std::chrono::duration_cast<std::chrono::seconds>(limit).count());
    log_->error("request {}: {}", seq, text);
    json::object resp = make_error_response(seq, o.command, text);
    timed_out_.insert(seq);
    dlv_hung_ = true;  // until dlv says anything again
    end = end || o.command == "disconnect";
    it = outstanding_.erase(it);
    send_client(resp);
  }
  if (end) {
    send_client(make_event("terminated", {}));
    exit_code_ = 1;
    return shutdown("dlv did not answer disconnect");
  }
  auto self = shared_from_this();
  watchdog_->expires_after(std::min<std::chrono::steady_clock::duration>(opts_.request_timeout / 4 + std::chrono::milliseconds(1), std::chrono::seconds(1)));
  watchdog_->async_wait([this, self](boost::system::error_code ec) {
    if (!ec) check_outstanding();
  });
}

void Session::send_client_raw(std::string frame) {
  if (!client_open_) return;
  log_->trace("<-- {}", frame);
  to_client_.push_back(std::move(frame));
  if (client_attached_ && !client_busy_) write_next(to_client_, client_busy_);
}

void Session::send_dlv_raw(std::string frame) {
  log_->trace("--> {}", frame);
  if (!dlv_connected_) {
    dlv_backlog_.push_back(std::move(frame));
    return;
  }
  to_dlv_.push_back(std::move(frame));
  if (!dlv_busy_) write_next(to_dlv_, dlv_busy_);
}

// Writes queued frames one at a time, in order; to_dlv_ goes to dlv, to_client_
// to the client.
void Session::write_next(std::deque<std::string>& q, bool& busy) {
  if (q.empty()) {
    busy = false;
    return;
  }
  busy = true;
  auto self = shared_from_this();
  auto done = [this, self, &q, &busy](boost::system::error_code ec, size_t) {
    q.pop_front();
    if (ec) {
      busy = false;
      q.clear();
      return;
    }
    write_next(q, busy);
  };
  if (&q == &to_dlv_)
    asio::async_write(dlv_sock_, asio::buffer(q.front()), done);
  else
    asio::async_write(client_, asio::buffer(q.front()), done);
}

bool Session::holding() const { return rearm_busy_ || waiting_for_index_; }

void Session::on_client_message(std::string_view body, std::string_view raw) {
  if (holding() || !held_.empty()) {
    // Held requests are on the watchdog's clock too.
    if (auto m = parse_object(body)) {
      Envelope e = envelope(*m);
      if (e.type == "request" && !e.command.empty()) note_request(e.seq, e.command);
    }
    held_.emplace_back(std::string(body), std::string(raw));
    return;
  }
  handle_client_message(std::string(body), std::string(raw));
}

void Session::drain_held() {
  while (!held_.empty() && !holding()) {
    auto [body, raw] = std::move(held_.front());
    held_.pop_front();
    handle_client_message(body, raw);
  }
}

void Session::handle_client_message(const std::string& body, const std::string& raw) {
  if (closing_) return;
  std::string err;
  bool utf8 = true;
  auto parsed = parse_json(body, &err, &utf8);
  // dlv ends the session on a body that is not a JSON object; so does the
  // shim, but it says why.
  if (!parsed || !parsed->is_object())
    return close_client("unreadable message from the client: " + (parsed ? "not a JSON object" : err));
  json::object* msg = &parsed->as_object();
  Envelope e = envelope(*msg);
  // Responses and events from the client, and malformed envelopes (no type,
  // no command), are dlv's to answer, exactly as without the shim.
  if (e.type != "request" || e.command.empty()) return send_dlv_raw(raw);
  note_request(e.seq, e.command);
  // Invalid UTF-8: dlv's to interpret (the shim would echo it back invalid).
  if (!utf8) {
    log_->warn("{} seq {}: invalid UTF-8; forwarding it to dlv unchanged", e.command, e.seq);
    return send_dlv_raw(raw);
  }
  if (e.command == "setBreakpoints" && index_pending_ && !index_) {
    // The index is being opened or built right now (it started with launch):
    // wait for it, bounded, rather than hand these lines to dlv.
    waiting_for_index_ = true;
    held_.emplace_front(body, raw);
    auto self = shared_from_this();
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(5));
    index_wait_timer_ = t;
    t->async_wait([this, self, t](boost::system::error_code ec) {
      if (ec || !waiting_for_index_) return;
      log_->warn("index: not ready after 5 s; breakpoints go to dlv meanwhile");
      waiting_for_index_ = false;
      index_pending_ = false;  // until it arrives, treat it as absent
      drain_held();
    });
    return;
  }
  log_->debug("client request {} seq {}", e.command, e.seq);
  bool handled = false;
  try {
    if (e.command == "launch")
      handled = on_launch(*msg, raw);
    else if (e.command == "attach")
      handled = on_attach(*msg, raw);
    else if (e.command == "setBreakpoints")
      handled = on_set_breakpoints(*msg, raw);
    else if (e.command == "setInstructionBreakpoints")
      handled = on_set_instruction_breakpoints(*msg);
    else if (e.command == "breakpointLocations")
      on_breakpoint_locations(*msg), handled = true;
    else if (e.command == "restart")
      on_restart(*msg);  // then forwarded
    else if (e.command == "disconnect")
      disconnect_sent_ = true;  // dlv answers it, then the session ends
  } catch (const std::exception& ex) {
    // Debugging never breaks because of dlvidx: dlv gets the request as sent.
    log_->error("{} seq {}: {}; forwarding it to dlv unchanged", e.command, e.seq, ex.what());
    handled = false;
  }
  if (!handled) send_dlv_raw(raw);
}

namespace {

// Most of what dlv sends is passed on untouched, and parsing a large
// variables or stackTrace response costs tens of microseconds. dlv (Go's
// encoding/json) writes the envelope fields first, in declaration order, so
// the first bytes say whether the shim needs the message at all. Anything
// unexpected falls through to a full parse.
bool pass_through(std::string_view body, int64_t& response_seq) {
  std::string_view head = body.substr(0, 200);
  response_seq = -1;
  if (head.starts_with(R"({"seq":0,"type":"event","event":")")) {
    std::string_view ev = head.substr(33);
    return !ev.starts_with("stopped\"") && !ev.starts_with("breakpoint\"");
  }
  static constexpr std::string_view kResp = R"({"seq":0,"type":"response","request_seq":)";
  if (!head.starts_with(kResp)) return false;
  int64_t rs = 0;
  size_t i = kResp.size();
  while (i < head.size() && head[i] >= '0' && head[i] <= '9' && rs < kShimSeqBase) rs = rs * 10 + (head[i++] - '0');
  if (rs >= kShimSeqBase || rs < 0) return false;
  response_seq = rs;
  size_t c = head.find(R"("command":")", i);
  if (c == std::string_view::npos) return false;
  std::string_view cmd = head.substr(c + 11);
  for (std::string_view mine : {"initialize\"", "launch\"", "attach\"", "disconnect\"", "restart\""})
    if (cmd.starts_with(mine)) return false;
  return cmd.find('"') != std::string_view::npos;
}

}  // namespace

void Session::on_dlv_message(std::string_view body, std::string_view raw) {
  dlv_hung_ = false;
  int64_t rs = -1;
  if (pass_through(body, rs)) {
    if (!note_response(rs)) return;
    return send_client_raw(std::string(raw));
  }
  auto msg = parse_object(body);
  if (!msg) return send_client_raw(std::string(raw));
  Envelope e = envelope(*msg);
  if (e.type == "response" && e.request_seq < kShimSeqBase && !note_response(e.request_seq)) return;
  if (e.type == "response" && e.request_seq >= kShimSeqBase) {
    auto it = replies_.find(e.request_seq);
    if (it != replies_.end()) {
      Reply r = std::move(it->second);
      replies_.erase(it);
      try {
        r(*msg);
      } catch (const std::exception& ex) {
        log_->error("handling dlv's {} response: {}", e.command, ex.what());
      }
    }
    return;
  }
  try {
    if (e.type == "response" && e.command == "initialize" && e.success) {
      on_initialize_response(*msg);
      return send_client(*msg);
    }
    if (e.type == "response" && (e.command == "launch" || e.command == "attach")) on_launch_response(*msg);
    if (e.type == "event" && e.event == "stopped" && on_stopped_event(*msg)) return send_client(*msg);
    if (e.type == "event" && e.event == "breakpoint" && on_breakpoint_event(*msg)) {
      if (msg->empty()) return;  // dropped
      return send_client(*msg);
    }
  } catch (const std::exception& ex) {
    log_->error("rewriting dlv's {}{}: {}; forwarding it unchanged", e.command, e.event, ex.what());
  }
  send_client_raw(std::string(raw));
  if (e.type == "response" && e.command == "disconnect") {
    auto self = shared_from_this();
    asio::post(io_, [this, self] { shutdown("the session ended (disconnect)"); });
  }
}

void Session::call_dlv(std::string_view command, json::object arguments, Reply reply) {
  int64_t seq = next_seq_++;
  replies_[seq] = std::move(reply);
  send_dlv_raw(encode_frame(json::serialize(make_request(seq, command, std::move(arguments)))));
}

void Session::on_dlv_gone(const std::string& why) {
  if (closing_) return;
  std::string status = dlv_ && !dlv_->running() ? dlv_->describe_exit() : "";
  std::string text = fmt::format("dlvidx: dlv stopped unexpectedly: {}{}\n", why, status.empty() ? "" : " (" + status + ")");
  log_->error("{}", text);
  send_client(make_event("output", {{"category", "stderr"}, {"output", text}}));
  send_client(make_event("terminated", {}));
  exit_code_ = 1;
  shutdown(why);
}

void Session::shutdown(const std::string& why) {
  if (closing_) return;
  closing_ = true;
  log_->info("shutting down: {}", why);
  auto self = shared_from_this();
  if (dlv_ && dlv_->running() && dlv_connected_ && !disconnect_sent_ && !dlv_hung_) {
    // Ask dlv to end the debuggee the way a client's disconnect would.
    disconnect_sent_ = true;
    call_dlv("disconnect", {{"terminateDebuggee", true}}, [this, self](const json::object&) { finish(); });
    auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::seconds(3));
    t->async_wait([this, self, t](boost::system::error_code) { finish(); });
    return;
  }
  // Let queued frames to the client go out first. A client that has not
  // connected yet (dlv died at start-up) gets a few seconds to come and
  // read why.
  bool waiting_client = !client_attached_ && !to_client_.empty();
  auto t = std::make_shared<asio::steady_timer>(
      io_, waiting_client ? std::chrono::milliseconds(10000) : std::chrono::milliseconds(200));
  t->async_wait([this, self, t](boost::system::error_code) { finish(); });
}

// Ends dlv (and what it started) and closes both connections.
void Session::finish() {
  if (finished_) return;
  finished_ = true;
  if (dlv_) {
    // After a disconnect dlv exits by itself; give it a moment unless it is hung.
    for (int i = 0; i < 300 && !dlv_hung_ && dlv_->running(); i++) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (dlv_->running()) log_->info("dlv (pid {}) still running; stopping it", dlv_->pid());
    dlv_->stop(dlv_hung_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(2000));
  }
  boost::system::error_code ec;
  client_.close(ec);
  dlv_sock_.close(ec);
  // Drop what still holds the session: replies dlv will never send, queued
  // re-arms, pending timers.
  replies_.clear();
  rearm_queue_.clear();
  held_.clear();
  if (watchdog_) watchdog_->cancel();
  if (index_wait_timer_) index_wait_timer_->cancel();
  io_.stop();
}

}  // namespace dlvidx::dap

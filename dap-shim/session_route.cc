// Routing: each message from the client or from dlv goes to its handler in
// the dispatch tables (or on unchanged), held while the hold queue says so,
// on the watchdog's clock, and never past the session's end.
#include "dap-shim/session.h"

namespace dlvidx::dap {

void Session::on_client_message(std::string_view body, std::string_view raw) {
  if (held_.holding() || !held_.empty()) {
    std::optional<json::object> m = parse_object(body);
    Envelope e = m ? envelope(*m) : Envelope{};
    // A setBreakpoints while only the shim's arming holds the queue, with
    // nothing held ahead of it, is answered now: it cannot let the program
    // run, and what comes after it still waits for its arming
    // (set_breakpoints.cc). Several in a row are armed together.
    if (e.type == "request" && e.command == "setBreakpoints" && held_.empty() &&
        !held_.waiting_for_index() && !breakpoints_.answer_pending())
      return handle_client_message(std::string(body), std::string(raw));
    // Held requests are on the watchdog's clock too.
    if (e.type == "request" && !e.command.empty()) watchdog_.note_request(e.seq, e.command);
    held_.hold(std::string(body), std::string(raw));
    return;
  }
  handle_client_message(std::string(body), std::string(raw));
}

void Session::handle_client_message(const std::string& body, const std::string& raw) {
  if (phase_.closing()) return;
  std::string err;
  bool utf8 = true;
  auto parsed = parse_json(body, &err, &utf8);
  // dlv ends the session on a body that is not a JSON object; so does the
  // shim, but it says why.
  if (!parsed || !parsed->is_object())
    return close_client("unreadable message from the client: " +
                        (parsed ? "not a JSON object" : err));
  json::object* msg = &parsed->as_object();
  Envelope e = envelope(*msg);
  // Responses and events from the client, and malformed envelopes (no type,
  // no command), are dlv's to answer, exactly as without the shim.
  if (e.type != "request" || e.command.empty()) return dlv_.send(raw);
  watchdog_.note_request(e.seq, e.command);
  // Invalid UTF-8: dlv's to interpret (the shim would echo it back invalid).
  if (!utf8) {
    log_->warn("{} seq {}: invalid UTF-8; forwarding it to dlv unchanged", e.command, e.seq);
    return dlv_.send(raw);
  }
  RequestHandler* handler = requests_.find(e.command);
  if (handler && handler->waits_for_index() && index_.loading()) {
    // The index is being opened or built right now (it started with launch):
    // wait for it, bounded, rather than hand these lines to dlv.
    return held_.wait_for_index(body, raw);
  }
  log_->debug("client request {} seq {}", e.command, e.seq);
  Outcome outcome = Outcome::kForward;
  if (handler) {
    try {
      outcome = handler->handle(*msg);
    } catch (const std::exception& ex) {
      // Debugging never breaks because of dlvidx: dlv gets the request as sent.
      log_->error("{} seq {}: {}; forwarding it to dlv unchanged", e.command, e.seq, ex.what());
      outcome = Outcome::kForward;
    }
  }
  if (outcome == Outcome::kForward) dlv_.send(raw);
  if (outcome == Outcome::kReplaced) dlv_.send(encode_frame(json::serialize(*msg)));
}

// Most of what dlv sends is passed on untouched, and parsing a large
// variables or stackTrace response costs tens of microseconds. dlv (Go's
// encoding/json) writes the envelope fields first, in declaration order, so
// the first bytes say whether a handler (or the shim's own request) needs
// the message at all. Anything unexpected falls through to a full parse.
bool Session::passes_through(std::string_view body, int64_t& response_seq) const {
  std::string_view head = body.substr(0, 200);
  response_seq = -1;
  auto listed = [](std::string_view name, const std::vector<std::string>& names) {
    for (const std::string& n : names)
      if (name.starts_with(n)) return true;
    return false;
  };
  if (head.starts_with(R"({"seq":0,"type":"event","event":")"))
    return !listed(head.substr(33), dlv_events_);
  static constexpr std::string_view kResp = R"({"seq":0,"type":"response","request_seq":)";
  if (!head.starts_with(kResp)) return false;
  int64_t rs = 0;
  size_t i = kResp.size();
  while (i < head.size() && head[i] >= '0' && head[i] <= '9' && rs < kShimSeqBase)
    rs = rs * 10 + (head[i++] - '0');
  if (rs >= kShimSeqBase || rs < 0) return false;
  response_seq = rs;
  size_t c = head.find(R"("command":")", i);
  if (c == std::string_view::npos) return false;
  std::string_view cmd = head.substr(c + 11);
  if (listed(cmd, dlv_responses_)) return false;
  return cmd.find('"') != std::string_view::npos;
}

void Session::on_dlv_message(std::string_view body, std::string_view raw) {
  watchdog_.heard_from_dlv();
  int64_t rs = -1;
  if (passes_through(body, rs)) {
    if (!watchdog_.note_response(rs)) return;
    return to_client_.send_raw(std::string(raw));
  }
  auto msg = parse_object(body);
  if (!msg) return to_client_.send_raw(std::string(raw));
  Envelope e = envelope(*msg);
  // (Answered already when it timed out: the client's request or the shim's own.)
  if (e.type == "response" && !watchdog_.note_response(e.request_seq)) return;
  if (e.type == "response" && e.request_seq >= kShimSeqBase) return calls_.answer(e, *msg);
  DlvMessageHandler* handler = e.type == "response" ? responses_.find(e.command)
                               : e.type == "event"  ? events_.find(e.event)
                                                    : nullptr;
  Outcome outcome = Outcome::kForward;
  if (handler) {
    try {
      outcome = handler->handle(*msg);
    } catch (const std::exception& ex) {
      log_->error("rewriting dlv's {}{}: {}; forwarding it unchanged", e.command, e.event,
                  ex.what());
      outcome = Outcome::kForward;
    }
  }
  if (outcome == Outcome::kForward) to_client_.send_raw(std::string(raw));
  if (outcome == Outcome::kReplaced) to_client_.send(*msg);
}

}  // namespace dlvidx::dap

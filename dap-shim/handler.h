// The shape of every handler (after lldb-dap's Handler/RequestHandler.h): one
// type per intercepted client request (handlers/*.cc), dlv event or dlv
// response, declaring its wire name (kName) and returning what it did with
// the message. A typed base parses the arguments (or body) into the spec's
// struct (protocol_*.h); if they do not parse, the message goes on unchanged
// and dlv answers it as it would without the shim. An exception inside a
// handler does the same (the session logs it). Handlers get references to
// the components they use, never the session.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dap-shim/protocol.h"

namespace dlvidx::dap {

enum class Outcome {
  kForward,   // pass the message on exactly as it came (its raw bytes)
  kReplaced,  // pass on the message as the handler rewrote it (re-serialized)
  kAnswered,  // the shim answered it, now or later; nothing goes on
};

// A request from the client.
class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  virtual Outcome handle(json::object& request) = 0;
  // While the index is loading, this request waits for it (bounded, hold_queue.h).
  virtual bool waits_for_index() const { return false; }
};

template <typename Arguments>
class TypedRequestHandler : public RequestHandler {
 public:
  Outcome handle(json::object& request) final {
    static const json::value kAbsent;
    const json::value* a = request.if_contains("arguments");
    Arguments args;
    if (!from_json(a ? *a : kAbsent, args)) return Outcome::kForward;
    return run(request, args);
  }

 protected:
  // `request` may be rewritten in place (kReplaced); `args` are the
  // handler's to keep (moved from).
  virtual Outcome run(json::object& request, Arguments& args) = 0;
};

// An event or a response from dlv.
class DlvMessageHandler {
 public:
  virtual ~DlvMessageHandler() = default;
  virtual Outcome handle(json::object& message) = 0;
};

// An event whose body parses as Body; run() may write a new body into `body` (kReplaced).
template <typename Body>
class TypedEventHandler : public DlvMessageHandler {
 public:
  Outcome handle(json::object& event) final {
    json::value* b = event.if_contains("body");
    Body body;
    if (!b || !from_json(*b, body)) return Outcome::kForward;
    return run(body, *b);
  }

 protected:
  virtual Outcome run(const Body& body, json::value& out) = 0;
};

// A response to a client request; Body parses its body (absent: null).
template <typename Body>
class TypedResponseHandler : public DlvMessageHandler {
 public:
  Outcome handle(json::object& response) final {
    if (!applies()) return Outcome::kForward;  // not even parsed
    static const json::value kAbsent;
    const json::value* b = response.if_contains("body");
    Body body;
    if (!from_json(b ? *b : kAbsent, body)) return Outcome::kForward;
    return run(envelope(response), body, response);
  }

 protected:
  virtual Outcome run(const Envelope& e, const Body& body, json::object& response) = 0;
  // False: the session is in no state where run() could change the response.
  virtual bool applies() const { return true; }
};

// Name -> handler, filled once when the session starts.
template <typename Handler>
class HandlerTable {
 public:
  template <typename H, typename... Args>
  void add(Args&&... args) {
    table_.emplace(std::string(H::kName), std::make_unique<H>(std::forward<Args>(args)...));
  }
  Handler* find(std::string_view name) const {
    auto it = table_.find(name);
    return it == table_.end() ? nullptr : it->second.get();
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (auto& [name, h] : table_) out.push_back(name);
    return out;
  }

 private:
  std::map<std::string, std::unique_ptr<Handler>, std::less<>> table_;
};

}  // namespace dlvidx::dap

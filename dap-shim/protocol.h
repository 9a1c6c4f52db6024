// The DAP base protocol's messages (ProtocolMessage, Request, Response,
// Event) as the shim reads and writes them: Boost.JSON objects, parsed only as
// far as routing needs. The spec's typed structs live beside this:
// protocol_types.h (Source, Breakpoint, ...), protocol_requests.h (the
// arguments and bodies of the requests the shim intercepts) and
// protocol_events.h (the event bodies it rewrites). Not a complete DAP
// implementation: a struct is added when the shim needs it.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dlvidx::dap {

namespace json = boost::json;

// Requests the shim sends to dlv itself use seqs from here up; their
// responses are consumed by the shim and never reach the client.
inline constexpr int64_t kShimSeqBase = 1'000'000'000;

// ProtocolMessage's routing fields, whatever the message's type.
struct Envelope {
  std::string type;     // "request" | "response" | "event"
  std::string command;  // request/response
  std::string event;    // event
  int64_t seq = 0;
  int64_t request_seq = 0;
  bool success = true;
};

// Parses a body as JSON. Invalid UTF-8 inside strings is accepted, as Go's
// encoding/json (and so dlv) accepts it; *valid_utf8 tells whether it was.
std::optional<json::value> parse_json(std::string_view body, std::string* error = nullptr,
                                      bool* valid_utf8 = nullptr);
// nullopt if the body is not a JSON object with a string "type".
std::optional<json::object> parse_object(std::string_view body, std::string* error = nullptr);
Envelope envelope(const json::object& o);

// Accessors that never throw: a missing or wrongly typed field is "absent".
const json::object* get_object(const json::object& o, std::string_view key);
const json::array* get_array(const json::object& o, std::string_view key);
std::optional<std::string> get_string(const json::object& o, std::string_view key);
std::optional<int64_t> get_int(const json::object& o, std::string_view key);
std::optional<bool> get_bool(const json::object& o, std::string_view key);

// What make_response needs of a request (its seq and command), for answers
// given later: a large request is not kept whole until then.
json::object request_stub(const json::object& request);
// A response to `request` (seq 0, as dlv sends everything).
json::object make_response(const json::object& request, bool success, json::object body = {},
                           std::string message = {});
// An error response of the shim's own (dlv's shape: body.error {id, format, showUser}).
inline constexpr int64_t kShimErrorId = 9001;
json::object make_error_response(int64_t request_seq, std::string_view command,
                                 std::string message);
json::object make_event(std::string_view event, json::object body);
json::object make_request(int64_t seq, std::string_view command, json::object arguments);

}  // namespace dlvidx::dap

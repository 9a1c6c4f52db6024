// DAP message shapes the shim reads or writes, with the spec's field names
// (Source.path, SourceBreakpoint.line/condition/hitCondition/logMessage,
// Breakpoint.id/verified/line/message/source, InstructionBreakpoint
// .instructionReference ...). Bodies are Boost.JSON values: the shim only
// parses what routing needs and rewrites only the messages it intercepts.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dlvidx::dap {

namespace json = boost::json;

// Requests the shim sends to dlv itself use seqs from here up; their
// responses are consumed by the shim and never reach the client.
inline constexpr int64_t kShimSeqBase = 1'000'000'000;

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

struct SourceBreakpoint {
  int64_t line = 0;
  std::string condition, hitCondition, logMessage;
};

struct Breakpoint {
  int64_t id = 0;
  bool verified = false;
  std::optional<int64_t> line;
  std::string message;
  std::optional<json::value> source;
  std::string instructionReference;  // where it is armed (the first address)
};

struct InstructionBreakpoint {
  std::string instructionReference;
  std::string condition, hitCondition;
};

// Accessors that never throw: a missing or wrongly typed field is "absent".
const json::object* get_object(const json::object& o, std::string_view key);
const json::array* get_array(const json::object& o, std::string_view key);
std::optional<std::string> get_string(const json::object& o, std::string_view key);
std::optional<int64_t> get_int(const json::object& o, std::string_view key);
std::optional<bool> get_bool(const json::object& o, std::string_view key);

std::vector<SourceBreakpoint> source_breakpoints(const json::object& arguments);
json::object to_json(const Breakpoint& b);
json::object to_json(const InstructionBreakpoint& b);
InstructionBreakpoint instruction_breakpoint(const json::object& o);

// A response to `request` (seq 0, as dlv sends everything).
json::object make_response(const json::object& request, bool success, json::object body = {},
                           std::string message = {});
// An error response of the shim's own (dlv's shape: body.error {id, format, showUser}).
inline constexpr int64_t kShimErrorId = 9001;
json::object make_error_response(int64_t request_seq, std::string_view command, std::string message);
json::object make_event(std::string_view event, json::object body);
json::object make_request(int64_t seq, std::string_view command, json::object arguments);

}  // namespace dlvidx::dap

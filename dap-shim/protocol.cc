#include "dap-shim/protocol.h"

#include <cmath>

namespace dlvidx::dap {

std::optional<json::value> parse_json(std::string_view body, std::string* error, bool* valid_utf8) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (valid_utf8) *valid_utf8 = !ec;
  if (ec) {
    // Rare: parse again, accepting invalid UTF-8.
    json::parse_options opt;
    opt.allow_invalid_utf8 = true;
    ec.clear();
    v = json::parse(body, ec, {}, opt);
  }
  if (ec) {
    if (error) *error = "invalid JSON: " + ec.message();
    return std::nullopt;
  }
  return v;
}

std::optional<json::object> parse_object(std::string_view body, std::string* error) {
  auto parsed = parse_json(body, error);
  if (!parsed) return std::nullopt;
  json::value& v = *parsed;
  if (!v.is_object()) {
    if (error) *error = "message is not a JSON object";
    return std::nullopt;
  }
  if (auto* t = v.as_object().if_contains("type"); !t || !t->is_string()) {
    if (error) *error = "message has no \"type\"";
    return std::nullopt;
  }
  return std::move(v.as_object());
}

const json::object* get_object(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_object() ? &v->as_object() : nullptr;
}
const json::array* get_array(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_array() ? &v->as_array() : nullptr;
}
std::optional<std::string> get_string(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->as_string());
}
std::optional<int64_t> get_int(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= INT64_MAX) return static_cast<int64_t>(v->as_uint64());
  if (v->is_double()) {
    // Only whole numbers in int64's range (1e999 parses as inf; NaN fails both).
    double d = v->as_double();
    if (d >= -0x1p63 && d < 0x1p63 && d == std::trunc(d)) return static_cast<int64_t>(d);
  }
  return std::nullopt;
}
std::optional<bool> get_bool(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_bool()) return std::nullopt;
  return v->as_bool();
}

Envelope envelope(const json::object& o) {
  Envelope e;
  e.type = get_string(o, "type").value_or("");
  e.command = get_string(o, "command").value_or("");
  e.event = get_string(o, "event").value_or("");
  e.seq = get_int(o, "seq").value_or(0);
  e.request_seq = get_int(o, "request_seq").value_or(0);
  e.success = get_bool(o, "success").value_or(false);
  return e;
}

json::object request_stub(const json::object& request) {
  json::object stub;
  for (std::string_view key : {"seq", "command"})
    if (const json::value* v = request.if_contains(key)) stub[key] = *v;
  return stub;
}

json::object make_response(const json::object& request, bool success, json::object body,
                           std::string message) {
  json::object r{{"seq", 0},
                 {"type", "response"},
                 {"request_seq", get_int(request, "seq").value_or(0)},
                 {"success", success},
                 {"command", get_string(request, "command").value_or("")}};
  if (!message.empty()) r["message"] = message;
  if (!body.empty() || success) r["body"] = std::move(body);
  return r;
}

json::object make_error_response(int64_t request_seq, std::string_view command,
                                 std::string message) {
  json::object error{{"id", kShimErrorId}, {"format", message}, {"showUser", true}};
  return {{"seq", 0},
          {"type", "response"},
          {"request_seq", request_seq},
          {"success", false},
          {"command", command},
          {"message", std::move(message)},
          {"body", {{"error", std::move(error)}}}};
}

json::object make_event(std::string_view event, json::object body) {
  return {{"seq", 0}, {"type", "event"}, {"event", event}, {"body", std::move(body)}};
}

json::object make_request(int64_t seq, std::string_view command, json::object arguments) {
  return {
      {"seq", seq}, {"type", "request"}, {"command", command}, {"arguments", std::move(arguments)}};
}

}  // namespace dlvidx::dap

// breakpointLocations: the lines with code in [line, endLine] of the mapped
// file, from the index (Go's line tables carry no columns). dlv itself does
// not implement this request; unmapped sources get an empty list.
#include "dap-shim/session.h"

namespace dlvidx::dap {

void Session::on_breakpoint_locations(const json::object& req) {
  const json::object* args = get_object(req, "arguments");
  json::array locations;
  if (args && index()) {
    const json::object* source = get_object(*args, "source");
    auto path = source ? get_string(*source, "path") : std::nullopt;
    int64_t line = get_int(*args, "line").value_or(0);
    int64_t end = get_int(*args, "endLine").value_or(line);
    if (path && line > 0 && end >= line)
      if (auto file = map_source(*path))
        for (uint32_t l : index()->lines_with_code(*file, static_cast<uint32_t>(line),
                                                   static_cast<uint32_t>(std::min<int64_t>(end, UINT32_MAX))))
          locations.push_back(json::object{{"line", l}});
  }
  send_client(make_response(req, true, {{"breakpoints", std::move(locations)}}));
}

}  // namespace dlvidx::dap

// breakpointLocations: the lines with code in [line, endLine] of the mapped
// file, from the index (Go's line tables carry no columns). dlv itself does
// not implement this request; unmapped sources get an empty list. Answered.
#include "dap-shim/handlers/handlers.h"

namespace dlvidx::dap {

Outcome BreakpointLocationsHandler::run(json::object& request, BreakpointLocationsArguments& args) {
  BreakpointLocationsResponseBody body;
  if (const index::IndexView* v = index_.view()) {
    std::optional<std::string> path = args.source ? args.source->path : std::nullopt;
    int64_t line = args.line;
    int64_t end = args.endLine.value_or(line);
    if (path && line > 0 && end >= line)
      if (auto file = index_.map_source(*path))
        for (uint32_t l :
             v->lines_with_code(*file, static_cast<uint32_t>(line),
                                static_cast<uint32_t>(std::min<int64_t>(end, UINT32_MAX))))
          body.breakpoints.push_back({l});
  }
  client_.send(make_response(request, true, to_json(body)));
  return Outcome::kAnswered;
}

}  // namespace dlvidx::dap

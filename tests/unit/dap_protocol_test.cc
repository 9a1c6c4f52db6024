// The shim's DAP structs (dap-shim/protocol_*.h): what they read from the
// wire, what they write back, and that a rewrite keeps every field the shim
// does not model, in its place (the bytes the client sees).
#include <catch2/catch_test_macros.hpp>

#include "dap-shim/protocol_events.h"
#include "dap-shim/protocol_requests.h"

using namespace dlvidx::dap;

namespace {
json::value parse(std::string_view s) { return json::parse(s); }
std::string text(const json::value& v) { return json::serialize(v); }
}  // namespace

TEST_CASE("setBreakpoints arguments: breakpoints, the deprecated lines, and what is not one",
          "[dap-protocol]") {
  SetBreakpointsArguments a;
  REQUIRE(from_json(parse(R"({"source":{"name":"m.go","path":"/w/m.go"},
      "breakpoints":[{"line":7,"condition":"i>2"},3,{"line":9,"hitCondition":"2","logMessage":"x"}]})"),
                    a));
  CHECK(a.source.path == "/w/m.go");
  CHECK(text(to_json(a.source)) == R"({"name":"m.go","path":"/w/m.go"})");
  REQUIRE(a.breakpoints.size() == 2);  // the 3 is not a SourceBreakpoint
  CHECK(a.breakpoints[0].line == 7);
  CHECK(a.breakpoints[0].condition == "i>2");
  CHECK(a.breakpoints[1].hitCondition == "2");
  CHECK(a.breakpoints[1].logMessage == "x");
  CHECK(a.breakpoints_as_sent.is_array());

  SetBreakpointsArguments old;
  REQUIRE(from_json(parse(R"({"source":{"path":"/w/m.go"},"lines":[4,"5",6]})"), old));
  REQUIRE(old.breakpoints.size() == 2);
  CHECK(old.breakpoints[1].line == 6);
  CHECK(old.breakpoints_as_sent.is_null());

  SetBreakpointsArguments bad;
  CHECK_FALSE(from_json(parse(R"({"source":5})"), bad));
  CHECK_FALSE(from_json(json::value(), bad));
}

TEST_CASE("a Breakpoint written by the shim has the spec's fields in a fixed order",
          "[dap-protocol]") {
  Breakpoint b;
  b.id = 1000001;
  b.verified = true;
  b.line = 12;
  Source s;
  REQUIRE(from_json(parse(R"({"path":"/w/m.go"})"), s));
  b.source = s;
  b.instructionReference = "0x401000";
  CHECK(text(to_json(b)) ==
        R"({"id":1000001,"verified":true,"line":12,"source":{"path":"/w/m.go"},)"
        R"("instructionReference":"0x401000"})");
  b.message = "moved from line 11: no statement on line 11";
  CHECK(text(to_json(b)).find(R"("line":12,"message":"moved from line 11)") != std::string::npos);
  SetBreakpointsResponseBody body{{b}};
  CHECK(to_json(body).at("breakpoints").as_array().size() == 1);
}

TEST_CASE("instruction breakpoints round trip; empty optional fields are left out",
          "[dap-protocol]") {
  SetInstructionBreakpointsArguments a;
  REQUIRE(from_json(
      parse(R"({"breakpoints":[{"instructionReference":"0x10","condition":"x"},"no"]})"), a));
  REQUIRE(a.breakpoints.size() == 1);
  CHECK(text(to_json(a.breakpoints[0])) == R"({"instructionReference":"0x10","condition":"x"})");
  // Absent or malformed arguments are no breakpoints (not a parse failure).
  CHECK(from_json(json::value(), a));
  CHECK(a.breakpoints.empty());
}

TEST_CASE("launch and attach arguments: absent fields stay absent", "[dap-protocol]") {
  LaunchRequestArguments l;
  REQUIRE(from_json(
      parse(R"({"mode":"exec","program":5,"substitutePath":[{"from":"/a","to":"/b"},7]})"), l));
  CHECK(l.mode == "exec");
  CHECK_FALSE(l.program);  // a number is no path
  CHECK_FALSE(l.output);
  REQUIRE(l.substitutePath.size() == 1);
  CHECK(l.substitutePath[0].to == "/b");
  CHECK_FALSE(from_json(parse("\"x\""), l));

  AttachRequestArguments a;
  REQUIRE(from_json(parse(R"({"processId":42})"), a));
  CHECK(a.mode == "local");
  CHECK(a.processId == 42);
}

TEST_CASE("breakpointLocations: optional arguments, lines out", "[dap-protocol]") {
  BreakpointLocationsArguments a;
  REQUIRE(from_json(parse(R"({"source":{"path":"/w/m.go"},"line":3,"endLine":9})"), a));
  CHECK(a.source->path == "/w/m.go");
  CHECK(a.endLine == 9);
  REQUIRE(from_json(json::value(), a));
  CHECK_FALSE(a.source);
  BreakpointLocationsResponseBody body{{{3}, {5}}};
  CHECK(text(to_json(body)) == R"({"breakpoints":[{"line":3},{"line":5}]})");
}

TEST_CASE("rewritten event bodies keep dlv's other fields in place", "[dap-protocol]") {
  StoppedEventBody st;
  REQUIRE(from_json(
      parse(R"({"reason":"instruction breakpoint","threadId":1,"hitBreakpointIds":[7],"x":true})"),
      st));
  st.reason = "breakpoint";
  st.hitBreakpointIds = json::array{1000001};
  CHECK(text(to_json(st)) ==
        R"({"reason":"breakpoint","threadId":1,"hitBreakpointIds":[1000001],"x":true})");

  BreakpointEventBody ev;
  REQUIRE(from_json(
      parse(
          R"({"reason":"changed","breakpoint":{"id":7,"verified":true,"instructionReference":"0x10"}})"),
      ev));
  CHECK(ev.breakpoint.id == 7);
  ev.breakpoint.id = 1000001;
  ev.breakpoint.line = 12;
  Source s;
  REQUIRE(from_json(parse(R"({"path":"/w/m.go"})"), s));
  ev.breakpoint.source = s;
  CHECK(text(to_json(ev)) ==
        R"({"reason":"changed","breakpoint":{"id":1000001,"verified":true,)"
        R"("instructionReference":"0x10","line":12,"source":{"path":"/w/m.go"}}})");
  CHECK_FALSE(from_json(parse(R"({"reason":"new"})"), ev));
}

TEST_CASE("capabilities: read dlv's, add the shim's", "[dap-protocol]") {
  Capabilities c;
  REQUIRE(from_json(parse(R"({"supportsInstructionBreakpoints":true})"), c));
  CHECK(c.supportsInstructionBreakpoints == true);
  REQUIRE(from_json(parse("[]"), c));
  CHECK_FALSE(c.supportsInstructionBreakpoints);
  json::object body{{"a", 1}};
  Capabilities added;
  added.supportsBreakpointLocationsRequest = true;
  to_json(added, body);
  CHECK(text(body) == R"({"a":1,"supportsBreakpointLocationsRequest":true})");
}

TEST_CASE("an answer given later needs only the request's seq and command", "[dap-protocol]") {
  json::object req = json::parse(R"({"seq":12,"type":"request","command":"setBreakpoints",
                                     "arguments":{"source":{"path":"/w/m.go"},"lines":[1,2,3]}})")
                         .as_object();
  json::object stub = request_stub(req);
  CHECK(text(stub) == R"({"seq":12,"command":"setBreakpoints"})");
  CHECK(make_response(stub, true, {{"breakpoints", json::array{}}}) ==
        make_response(req, true, {{"breakpoints", json::array{}}}));
}

// The shim's dispatch (dap-shim/handler.h, handlers/): tables filled once and
// looked up by wire name; a typed handler whose arguments do not parse leaves
// the message to dlv; handlers run against real components with no dlv and no
// client attached (frames for them just queue).
#include <spdlog/logger.h>

#include <catch2/catch_test_macros.hpp>
#include <set>

#include "dap-shim/handlers/handlers.h"

using namespace dlvidx::dap;

namespace {

json::object parse(std::string_view s) { return json::parse(s).as_object(); }

struct Counting : TypedRequestHandler<LaunchRequestArguments> {
  static constexpr std::string_view kName = "launch";
  int runs = 0;
  Outcome run(json::object&, LaunchRequestArguments&) override {
    runs++;
    return Outcome::kAnswered;
  }
};

// The components a handler may need, wired as the session wires them.
struct World {
  boost::asio::io_context io;
  Lifetime life;
  SessionPhase phase;
  spdlog::logger log{"test"};
  Connection client{io, life, log, "<--"}, dlv{io, life, log, "-->"};
  RequestWatchdog watchdog{
      io, life, phase, log, std::chrono::seconds(30), {[](const json::object&) {}, [] {}}};
  ClientOut to_client{client, watchdog};
  DlvCalls calls{dlv, log};
  IndexLoader index{io, life, phase, log, calls, "", [] {}};
  int idle = 0;
  std::vector<Breakpoint> changed;  // the breakpoint events the session would send
  BreakpointTable table{calls, index, log, [this] { idle++; },
                        [this](const ManagedSource& src, const ShimBreakpoint& bp) {
                          changed.push_back(to_breakpoint(src, bp));
                        }};
};

// A managed source with one breakpoint per (line, pc), as set_breakpoints.cc makes them.
ManagedSource source(BreakpointTable& t, const std::string& path,
                     std::vector<std::pair<int64_t, uint64_t>> lines) {
  ManagedSource src;
  src.source.path = path;
  for (auto [line, pc] : lines) {
    ShimBreakpoint bp;
    bp.requested_line = bp.line = line;
    bp.pcs = {pc};
    bp.verified = true;
    bp.id = t.id_for(path, line);
    src.bps.push_back(bp);
  }
  return src;
}

// dlv's answer to the shim's k-th request: one entry per armed address, "refused" among them.
void answer_arming(World& w, int64_t k, size_t entries, std::set<size_t> refused = {}) {
  json::array bps;
  for (size_t i = 0; i < entries; i++)
    bps.push_back(refused.count(i) ? json::object{{"verified", false},
                                                  {"message", "Breakpoint exists at x.go:3"}}
                                   : json::object{{"verified", true}, {"id", int64_t(i + 1)}});
  Envelope e;
  e.type = "response";
  e.request_seq = kShimSeqBase + k;
  w.calls.answer(e, {{"success", true}, {"body", {{"breakpoints", bps}}}});
}

}  // namespace

TEST_CASE("handler tables: filled once, found by wire name", "[dap-dispatch]") {
  World w;
  HandlerTable<RequestHandler> requests;
  requests.add<SetBreakpointsHandler>(w.index, w.table, w.to_client, w.log);
  requests.add<DisconnectHandler>(w.phase);
  HandlerTable<DlvMessageHandler> responses;
  responses.add<LaunchResponseHandler>(w.index);
  responses.add<AttachResponseHandler>(w.index);
  CHECK(requests.find("setBreakpoints") != nullptr);
  CHECK(requests.find("setBreakpoints")->waits_for_index());
  CHECK_FALSE(requests.find("disconnect")->waits_for_index());
  CHECK(requests.find("stackTrace") == nullptr);
  responses.add<SetBreakpointsResponseHandler>(w.index, w.table, w.log);
  responses.add<StackTraceResponseHandler>(w.index);
  CHECK(responses.names() ==
        std::vector<std::string>{"attach", "launch", "setBreakpoints", "stackTrace"});
}

TEST_CASE("noDebug: setBreakpoints is answered by the shim, nothing bound, and says why",
          "[dap-dispatch]") {
  World w;
  LaunchHandler launch(w.index);
  json::object lreq = parse(R"({"seq":1,"type":"request","command":"launch",
                                "arguments":{"mode":"exec","program":"/bin/true","noDebug":true}})");
  CHECK(launch.handle(lreq) == Outcome::kForward);
  CHECK(w.index.no_debug());
  CHECK_FALSE(w.index.loading());  // no debugger: no index either
  SetBreakpointsHandler sb(w.index, w.table, w.to_client, w.log);
  json::object req = parse(R"({"seq":2,"type":"request","command":"setBreakpoints",
                               "arguments":{"source":{"path":"/w/m.go"},"breakpoints":[{"line":3}]}})");
  CHECK(sb.handle(req) == Outcome::kAnswered);
  CHECK(w.client.queued());  // the answer, waiting for a client socket
  CHECK_FALSE(w.dlv.queued());
}

TEST_CASE("answers of dlv that the index cannot improve go on as they came", "[dap-dispatch]") {
  World w;
  SetBreakpointsResponseHandler sb(w.index, w.table, w.log);
  json::object resp =
      parse(R"({"seq":0,"type":"response","request_seq":7,"success":true,"command":"setBreakpoints",
                "body":{"breakpoints":[{"verified":false,"message":"could not find file /x.go"}]}})");
  CHECK(sb.handle(resp) == Outcome::kForward);  // the shim forwarded nothing as seq 7
  StackTraceResponseHandler st(w.index);
  json::object frames =
      parse(R"({"seq":0,"type":"response","request_seq":8,"success":true,"command":"stackTrace",
                "body":{"stackFrames":[{"id":1,"source":{"path":"/app/main.go"},"line":3}]}})");
  CHECK(st.handle(frames) == Outcome::kForward);  // no index: nothing to map
  CHECK(frames.at("body").at("stackFrames").at(0).at("source").at("path") == "/app/main.go");
}

TEST_CASE("arguments that do not parse: the request goes on unchanged", "[dap-dispatch]") {
  Counting h;
  json::object no_args = parse(R"({"seq":1,"type":"request","command":"launch"})");
  json::object string_args =
      parse(R"({"seq":2,"type":"request","command":"launch","arguments":"x"})");
  json::object good = parse(R"({"seq":3,"type":"request","command":"launch","arguments":{}})");
  CHECK(h.handle(no_args) == Outcome::kForward);
  CHECK(h.handle(string_args) == Outcome::kForward);
  CHECK(h.runs == 0);
  CHECK(h.handle(good) == Outcome::kAnswered);
  CHECK(h.runs == 1);
}

TEST_CASE("without an index or instruction breakpoints, breakpoints are dlv's", "[dap-dispatch]") {
  World w;
  SetBreakpointsHandler sb(w.index, w.table, w.to_client, w.log);
  json::object req = parse(R"({"seq":4,"type":"request","command":"setBreakpoints",
                               "arguments":{"source":{"path":"/w/m.go"},"breakpoints":[{"line":3}]}})");
  CHECK(sb.handle(req) == Outcome::kForward);
  SetInstructionBreakpointsHandler sib(w.table, w.to_client);
  json::object ireq = parse(R"({"seq":5,"type":"request","command":"setInstructionBreakpoints",
                                "arguments":{"breakpoints":[{"instructionReference":"0x10"}]}})");
  CHECK(sib.handle(ireq) == Outcome::kForward);  // nothing of the shim's is armed
  CHECK_FALSE(w.dlv.queued());                   // and the shim asked dlv nothing
}

TEST_CASE("initialize: the answer gains breakpointLocations and says whether dlv can arm",
          "[dap-dispatch]") {
  World w;
  InitializeResponseHandler h(w.table, w.log);
  json::object ok =
      parse(R"({"seq":0,"type":"response","request_seq":1,"success":true,"command":"initialize",
                              "body":{"supportsInstructionBreakpoints":true}})");
  CHECK(h.handle(ok) == Outcome::kReplaced);
  CHECK(w.table.dlv_can_arm());
  CHECK(ok.at("body").at("supportsBreakpointLocationsRequest") == true);
  json::object failed = parse(
      R"({"seq":0,"type":"response","request_seq":1,"success":false,"command":"initialize"})");
  CHECK(h.handle(failed) == Outcome::kForward);
  CHECK_FALSE(failed.contains("body"));
}

TEST_CASE("events about breakpoints that are not the shim's go on as they came", "[dap-dispatch]") {
  World w;
  StoppedEventHandler stopped(w.table);
  json::object st = parse(R"({"seq":0,"type":"event","event":"stopped",
                              "body":{"reason":"instruction breakpoint","hitBreakpointIds":[3]}})");
  CHECK(stopped.handle(st) == Outcome::kForward);
  json::object step =
      parse(R"({"seq":0,"type":"event","event":"stopped","body":{"reason":"step"}})");
  CHECK(stopped.handle(step) == Outcome::kForward);
  BreakpointEventHandler bp(w.table);
  json::object ev =
      parse(R"({"seq":0,"type":"event","event":"breakpoint","body":{"breakpoint":{"id":3}}})");
  CHECK(bp.handle(ev) == Outcome::kForward);
}

TEST_CASE("disconnect moves the phase; the shim's own requests are numbered apart",
          "[dap-dispatch]") {
  World w;
  DisconnectHandler d(w.phase);
  json::object req = parse(R"({"seq":9,"type":"request","command":"disconnect"})");
  CHECK(d.handle(req) == Outcome::kForward);
  CHECK(w.phase.get() == Phase::kDisconnecting);
  CHECK_FALSE(w.phase.advance(Phase::kRunning));  // only forward
  CHECK(w.phase.advance(Phase::kClosing));
  CHECK(w.phase.closing());

  int answered = 0;
  w.calls.call("evaluate", {{"expression", "1"}}, [&](const json::object&) { answered++; });
  CHECK(w.dlv.queued());  // waits for dlv to be connected
  Envelope e;
  e.type = "response";
  e.request_seq = kShimSeqBase;
  w.calls.answer(e, {});
  w.calls.answer(e, {});  // a second answer to the same request is nobody's
  CHECK(answered == 1);
}

TEST_CASE(
    "arming: what is asked while one arming is with dlv is armed together, once; a refusal "
    "the client was told otherwise becomes a changed breakpoint",
    "[dap-dispatch]") {
  World w;
  std::vector<std::string> done;
  w.table.manage("/w/a.go", source(w.table, "/w/a.go", {{3, 0x10}}));
  w.table.told("/w/a.go");
  w.table.rearm([&](const json::object&) { done.push_back("a"); });
  CHECK(w.table.arming());
  CHECK(w.table.armings() == 1);
  // Three more files while the first arming is with dlv (an editor's session start)...
  for (std::string f : {"b", "c", "d"}) {
    std::string path = "/w/" + f + ".go";
    w.table.manage(path, source(w.table, path, {{5, 0x20 + 0x10 * uint64_t(f[0] - 'b')}}));
    w.table.told(path);
    w.table.rearm([&done, f](const json::object&) { done.push_back(f); });
  }
  // ...and a.go replaced before dlv answered: that answer is not a.go's any more.
  w.table.manage("/w/a.go", source(w.table, "/w/a.go", {{4, 0x14}}));
  w.table.told("/w/a.go");
  CHECK(w.table.armings() == 1);
  answer_arming(w, 0, 1, {0});  // dlv refused the old a.go:3
  CHECK(done == std::vector<std::string>{"a"});
  CHECK(w.changed.empty());       // (a.go:3 is gone; a.go:4 is not armed yet)
  CHECK(w.table.armings() == 2);  // b, c, d and the new a.go: one request
  CHECK(w.idle == 0);
  // The union is sorted by path: a.go:4, b.go, c.go, d.go. dlv refuses c.go's address.
  answer_arming(w, 1, 4, {2});
  CHECK(done == std::vector<std::string>{"a", "b", "c", "d"});
  CHECK(w.table.armings() == 2);
  CHECK(w.idle == 1);
  CHECK_FALSE(w.table.arming());
  REQUIRE(w.changed.size() == 1);
  REQUIRE(w.changed[0].source);
  CHECK(w.changed[0].source->path == "/w/c.go");
  CHECK_FALSE(w.changed[0].verified);
  CHECK(w.changed[0].message == "Breakpoint exists at x.go:3");
  CHECK(w.changed[0].id == w.table.id_for("/w/c.go", 5));
  // dlv's ids map to the shim's for the armed ones only.
  REQUIRE(w.table.shim_ids(1) != nullptr);
  CHECK(*w.table.shim_ids(1) == std::vector<int64_t>{w.table.id_for("/w/a.go", 4)});
  CHECK(w.table.shim_ids(3) == nullptr);
  // A later arming that dlv accepts: c.go is bound after all, and the client hears it.
  w.table.rearm([](const json::object&) {});
  answer_arming(w, 2, 4);
  REQUIRE(w.changed.size() == 2);
  CHECK(w.changed[1].verified);
  // The client's empty setInstructionBreakpoints of every session start, none before: answered
  // here, nothing armed for it.
  SetInstructionBreakpointsHandler sib(w.table, w.to_client);
  json::object none = parse(R"({"seq":5,"type":"request","command":"setInstructionBreakpoints",
                                "arguments":{"breakpoints":[]}})");
  CHECK(sib.handle(none) == Outcome::kAnswered);
  CHECK(w.table.armings() == 3);
  CHECK_FALSE(w.table.arming());
}

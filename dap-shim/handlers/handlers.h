// Every handler the shim has, one type each; each is defined in its own file
// beside this one, which opens with what the handler does. The session fills
// its dispatch tables with them once (session.cc: Session::Session).
//
// A new intercepted request: its arguments struct in protocol_requests.h, a
// class here deriving TypedRequestHandler<Arguments> with its kName, its
// run() in handlers/<name>.cc, one add<>() line in the session.
#pragma once

#include <spdlog/logger.h>

#include <functional>
#include <string_view>

#include "dap-shim/breakpoint_table.h"
#include "dap-shim/client_out.h"
#include "dap-shim/handler.h"
#include "dap-shim/index_loader.h"
#include "dap-shim/phase.h"
#include "dap-shim/protocol_events.h"
#include "dap-shim/protocol_requests.h"

namespace dlvidx::dap {

// --- requests from the client ---------------------------------------------

class LaunchHandler : public TypedRequestHandler<LaunchRequestArguments> {  // launch.cc
 public:
  static constexpr std::string_view kName = "launch";
  explicit LaunchHandler(IndexLoader& index) : index_(index) {}
  Outcome run(json::object& request, LaunchRequestArguments& args) override;

 private:
  IndexLoader& index_;
};

class AttachHandler : public TypedRequestHandler<AttachRequestArguments> {  // attach.cc
 public:
  static constexpr std::string_view kName = "attach";
  explicit AttachHandler(IndexLoader& index) : index_(index) {}
  Outcome run(json::object& request, AttachRequestArguments& args) override;

 private:
  IndexLoader& index_;
};

class SetBreakpointsHandler
    : public TypedRequestHandler<SetBreakpointsArguments> {  // set_breakpoints.cc
 public:
  static constexpr std::string_view kName = "setBreakpoints";
  SetBreakpointsHandler(IndexLoader& index, BreakpointTable& table, ClientOut& client,
                        spdlog::logger& log)
      : index_(index), table_(table), client_(client), log_(log) {}
  Outcome run(json::object& request, SetBreakpointsArguments& args) override;
  bool waits_for_index() const override { return true; }

 private:
  // The answer for `path` as the table has it now.
  void answer(const json::object& request, const std::string& path);
  IndexLoader& index_;
  BreakpointTable& table_;
  ClientOut& client_;
  spdlog::logger& log_;
};

class SetInstructionBreakpointsHandler
    : public TypedRequestHandler<
          SetInstructionBreakpointsArguments> {  // set_instruction_breakpoints.cc
 public:
  static constexpr std::string_view kName = "setInstructionBreakpoints";
  SetInstructionBreakpointsHandler(BreakpointTable& table, ClientOut& client)
      : table_(table), client_(client) {}
  Outcome run(json::object& request, SetInstructionBreakpointsArguments& args) override;

 private:
  BreakpointTable& table_;
  ClientOut& client_;
};

class BreakpointLocationsHandler
    : public TypedRequestHandler<BreakpointLocationsArguments> {  // breakpoint_locations.cc
 public:
  static constexpr std::string_view kName = "breakpointLocations";
  BreakpointLocationsHandler(IndexLoader& index, ClientOut& client)
      : index_(index), client_(client) {}
  Outcome run(json::object& request, BreakpointLocationsArguments& args) override;

 private:
  IndexLoader& index_;
  ClientOut& client_;
};

class RestartHandler : public TypedRequestHandler<NoArguments> {  // restart.cc
 public:
  static constexpr std::string_view kName = "restart";
  RestartHandler(BreakpointTable& table, IndexLoader& index, spdlog::logger& log)
      : table_(table), index_(index), log_(log) {}
  Outcome run(json::object& request, NoArguments& args) override;

 private:
  BreakpointTable& table_;
  IndexLoader& index_;
  spdlog::logger& log_;
};

class DisconnectHandler : public TypedRequestHandler<NoArguments> {  // disconnect.cc
 public:
  static constexpr std::string_view kName = "disconnect";
  explicit DisconnectHandler(SessionPhase& phase) : phase_(phase) {}
  Outcome run(json::object& request, NoArguments& args) override;

 private:
  SessionPhase& phase_;
};

// --- events from dlv ------------------------------------------------------

class StoppedEventHandler : public TypedEventHandler<StoppedEventBody> {  // stopped_event.cc
 public:
  static constexpr std::string_view kName = "stopped";
  explicit StoppedEventHandler(const BreakpointTable& table) : table_(table) {}
  Outcome run(const StoppedEventBody& body, json::value& out) override;

 private:
  const BreakpointTable& table_;
};

class BreakpointEventHandler
    : public TypedEventHandler<BreakpointEventBody> {  // breakpoint_event.cc
 public:
  static constexpr std::string_view kName = "breakpoint";
  explicit BreakpointEventHandler(const BreakpointTable& table) : table_(table) {}
  Outcome run(const BreakpointEventBody& body, json::value& out) override;

 private:
  const BreakpointTable& table_;
};

// --- dlv's responses to the client's requests -------------------------------

class InitializeResponseHandler
    : public TypedResponseHandler<Capabilities> {  // initialize_response.cc
 public:
  static constexpr std::string_view kName = "initialize";
  InitializeResponseHandler(BreakpointTable& table, spdlog::logger& log)
      : table_(table), log_(log) {}
  Outcome run(const Envelope& e, const Capabilities& caps, json::object& response) override;

 private:
  BreakpointTable& table_;
  spdlog::logger& log_;
};

class LaunchResponseHandler : public TypedResponseHandler<NoArguments> {  // launch_response.cc
 public:
  static constexpr std::string_view kName = "launch";
  explicit LaunchResponseHandler(IndexLoader& index) : index_(index) {}
  Outcome run(const Envelope& e, const NoArguments&, json::object& response) override;

 private:
  IndexLoader& index_;
};

class SetBreakpointsResponseHandler
    : public TypedResponseHandler<SetBreakpointsResponseBody> {  // set_breakpoints_response.cc
 public:
  static constexpr std::string_view kName = "setBreakpoints";
  SetBreakpointsResponseHandler(IndexLoader& index, BreakpointTable& table, spdlog::logger& log)
      : index_(index), table_(table), log_(log) {}
  Outcome run(const Envelope& e, const SetBreakpointsResponseBody& body,
              json::object& response) override;

 private:
  IndexLoader& index_;
  BreakpointTable& table_;
  spdlog::logger& log_;
};

class StackTraceResponseHandler
    : public TypedResponseHandler<StackTraceResponseBody> {  // stack_trace_response.cc
 public:
  static constexpr std::string_view kName = "stackTrace";
  explicit StackTraceResponseHandler(IndexLoader& index) : index_(index) {}
  Outcome run(const Envelope& e, const StackTraceResponseBody& body,
              json::object& response) override;
  // Every stop asks for a stack: parsed only once some client path was mapped elsewhere.
  bool applies() const override { return index_.remaps_paths(); }

 private:
  IndexLoader& index_;
};

class AttachResponseHandler : public LaunchResponseHandler {  // launch_response.cc
 public:
  static constexpr std::string_view kName = "attach";
  using LaunchResponseHandler::LaunchResponseHandler;
};

class DisconnectResponseHandler : public TypedResponseHandler<NoArguments> {  // disconnect.cc
 public:
  static constexpr std::string_view kName = "disconnect";
  // `end` ends the session once the answer is on its way to the client.
  explicit DisconnectResponseHandler(std::function<void()> end) : end_(std::move(end)) {}
  Outcome run(const Envelope& e, const NoArguments&, json::object& response) override;

 private:
  std::function<void()> end_;
};

}  // namespace dlvidx::dap

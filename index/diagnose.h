// Why a breakpoint on FILE:LINE binds where it does, or why it cannot: the path mapping used, then
// the line (bound, moved to the next line with code, or refused), with a reason a person can act
// on -- the file is not in the binary (and which files of the binary are closest), a test file in
// a binary not built by go test, a line outside every function, a function left out of the build,
// a source file modified after the build so that its lines moved (a warning on a bound breakpoint).
// The shim's breakpoint messages and `dlvidx explain` both come from here.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "index/go_source.h"
#include "index/snap.h"
#include "index/source_map.h"

namespace dlvidx::index {

enum class Verdict {
  kBound,             // at the requested line
  kMoved,             // at the next line with code of the same function
  kNotInBinary,       // no file of the binary is this one
  kAmbiguous,         // several files of the binary could be this one
  kTestFile,          // a _test.go file, and the binary was not built by go test
  kOutsideFunctions,  // package-level declarations, imports
  kNotCompiled,       // the line's function has no code in the binary
  kNoStatement,       // no code at the line nor after it in its function
  kWrappersOnly,      // code only in wrappers Delve never stops in
};
std::string_view to_string(Verdict v);

struct Diagnosis {
  Verdict verdict = Verdict::kNotInBinary;
  PathMapping mapping;
  uint32_t line = 0;                 // the line armed
  std::vector<uint64_t> pcs;         // link-time addresses
  std::string function;              // the line's function, as written in the source, when known
  std::vector<std::string> closest;  // kNotInBinary: files of the binary with the same base name
  std::string message;               // for the user; "" when bound at the line itself
  std::string warning;               // a bound breakpoint that may be on the wrong line
  bool verified() const { return verdict == Verdict::kBound || verdict == Verdict::kMoved; }
};

struct SessionFacts {
  std::string mode = "exec";  // the launch mode: exec, debug, test, core, ...
  std::optional<std::filesystem::file_time_type> binary_mtime;
};

class Diagnoser {
 public:
  Diagnoser(const IndexView& v, SourceMap& map, LineSnapper& snap, SessionFacts facts)
      : v_(v), map_(map), snap_(snap), facts_(std::move(facts)) {}
  Diagnosis diagnose(const std::string& client_path, int64_t line);

 private:
  void not_mapped(Diagnosis& d, const std::string& client_path);
  void no_code(Diagnosis& d, const std::string& client_path, uint32_t file, int64_t line);
  std::vector<std::string> closest_files(const std::string& client_path, size_t max) const;
  bool test_binary() const;
  const std::optional<GoSource>& source(const std::string& client_path);
  std::string newer_than_binary(const std::string& client_path, uint32_t file);
  bool lines_moved(const std::string& client_path, uint32_t file);

  const IndexView& v_;
  SourceMap& map_;
  LineSnapper& snap_;
  SessionFacts facts_;
  std::map<std::string, std::optional<GoSource>> sources_;
  std::map<std::string, std::pair<std::filesystem::file_time_type, bool>> moved_;  // by mtime
  mutable std::optional<bool> test_binary_;
};

}  // namespace dlvidx::index

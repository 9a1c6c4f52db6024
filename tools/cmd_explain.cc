// dlvidx explain BINARY FILE:LINE...: where a breakpoint on FILE:LINE binds and why, or why it
// cannot -- the path mapping used (index::SourceMap) and the diagnosis (index::Diagnoser), the
// same the shim answers setBreakpoints with. FILE is the path as the editor would send it.
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 has it only there)

#include <boost/json.hpp>
#include <filesystem>

#include "index/build.h"
#include "index/diagnose.h"
#include "tools/commands.h"

namespace dlvidx::cli {
namespace {
namespace fs = std::filesystem;

struct ExplainArgs {
  std::string binary, arch, cache_dir, mode = "exec";
  std::vector<std::string> queries, substitute;
  bool json = false;
};

struct Query {
  std::string text;  // as given
  std::string file;  // absolute
  uint32_t line = 0;
};

// FILE:LINE, LINE in 1..2^32-1; throws naming the location otherwise.
Query parse_query(const std::string& q) {
  size_t colon = q.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw Error(fmt::format("malformed location {:?}: expected FILE:LINE", q));
  std::string digits = q.substr(colon + 1);
  if (digits.empty() || digits.find_first_not_of("0123456789") != std::string::npos)
    throw Error(fmt::format("malformed location {:?}: expected FILE:LINE with LINE a number", q));
  uint64_t line = 0;
  for (char c : digits) {
    line = line * 10 + static_cast<uint64_t>(c - '0');
    if (line > UINT32_MAX)
      throw Error(
          fmt::format("location {:?}: line {} is out of range (1 to {})", q, digits, UINT32_MAX));
  }
  if (line == 0) throw Error(fmt::format("location {:?}: lines start at 1", q));
  Query out{q, q.substr(0, colon), static_cast<uint32_t>(line)};
  std::error_code ec;
  fs::path abs = fs::absolute(out.file, ec);
  if (ec) throw Error(fmt::format("location {:?}: {}", q, ec.message()));
  out.file = abs.lexically_normal().string();
  if (out.file.ends_with("/") || fs::is_directory(out.file, ec))
    throw Error(fmt::format("location {:?}: {} is a directory, not a source file", q, out.file));
  return out;
}

index::PathRule parse_rule(const std::string& s) {
  size_t eq = s.find('=');
  if (eq == std::string::npos || eq == 0)
    throw Error(fmt::format("--substitute-path {:?}: expected FROM=TO", s));
  return {s.substr(0, eq), s.substr(eq + 1)};
}

// The function of a bound line: the source's name when the diagnosis has one, else the symbol of
// its first address.
std::string function_of(const index::IndexView& v, const index::Diagnosis& d) {
  if (!d.function.empty()) return d.function;
  if (d.pcs.empty()) return {};
  auto fn = v.function_at(d.pcs[0]);
  return fn ? std::string(v.function_name(*fn)) : std::string();
}

std::vector<std::string> candidate_paths(const index::IndexView& v, const index::PathMapping& m) {
  std::vector<std::string> out;
  for (uint32_t f : m.candidates) out.emplace_back(v.file_path(f));
  return out;
}

boost::json::object to_json(const index::IndexView& v, const Query& q, const index::Diagnosis& d) {
  namespace json = boost::json;
  const index::PathMapping& m = d.mapping;
  json::array candidates, pcs, closest;
  for (const auto& c : candidate_paths(v, m)) candidates.emplace_back(c);
  for (uint64_t pc : d.pcs) pcs.emplace_back(fmt::format("{:#x}", pc));
  for (const auto& c : d.closest) closest.emplace_back(c);
  json::object mapping{
      {"rule", m.rule.empty() ? json::value(nullptr) : json::value(m.rule)},
      {"file", m.file ? json::value(std::string(v.file_path(*m.file))) : json::value(nullptr)},
      {"detail", m.detail},
      {"candidates", std::move(candidates)}};
  std::string fn = function_of(v, d);
  return {{"query", q.text},
          {"file", q.file},
          {"line", q.line},
          {"mapping", std::move(mapping)},
          {"verdict", std::string(index::to_string(d.verdict))},
          {"verified", d.verified()},
          {"line_armed", d.verified() ? json::value(d.line) : json::value(nullptr)},
          {"pcs", std::move(pcs)},
          {"function", fn.empty() ? json::value(nullptr) : json::value(fn)},
          {"message", d.message},
          {"warning", d.warning},
          {"closest", std::move(closest)}};
}

void print_text(const index::IndexView& v, const Query& q, const index::Diagnosis& d) {
  const index::PathMapping& m = d.mapping;
  fmt::print("{}\n", q.text);
  if (m.file) {
    fmt::print("  mapping:  {} -> {} by {}{}\n", q.file, v.file_path(*m.file), m.rule,
               m.detail.empty() ? "" : ": " + m.detail);
  } else {
    fmt::print("  mapping:  {} -> none: {}\n", q.file, m.detail);
    auto c = candidate_paths(v, m);
    if (!c.empty()) fmt::print("  candidates: {}\n", fmt::join(c, ", "));
  }
  fmt::print("  verdict:  {}{}\n", index::to_string(d.verdict),
             d.verified() ? " (verified)" : " (not verified)");
  if (d.verified()) {
    std::vector<std::string> pcs;
    for (uint64_t pc : d.pcs) pcs.push_back(fmt::format("{:#x}", pc));
    fmt::print("  armed:    line {} at {}\n", d.line, fmt::join(pcs, ", "));
  }
  if (std::string fn = function_of(v, d); !fn.empty()) fmt::print("  function: {}\n", fn);
  if (!d.message.empty()) fmt::print("  message:  {}\n", d.message);
  if (!d.warning.empty()) fmt::print("  warning:  {}\n", d.warning);
  if (!d.closest.empty() && d.verdict != index::Verdict::kAmbiguous)
    fmt::print("  closest:  {}\n", fmt::join(d.closest, ", "));
}

}  // namespace

void setup_explain(CLI::App& app) {
  auto args = std::make_shared<ExplainArgs>();
  auto* c = app.add_subcommand("explain",
                               "Explain where a breakpoint on FILE:LINE binds, or why it cannot");
  c->add_option("BINARY", args->binary, "Go executable")->required();
  c->add_option("LOCATION", args->queries,
                "FILE:LINE, FILE as the editor sends it (relative: against the current directory)")
      ->required();
  c->add_flag("--json", args->json,
              "print {\"binary\",\"locations\":[{\"query\",\"file\",\"line\",\"mapping\":{…},"
              "\"verdict\",\"verified\",\"line_armed\",\"pcs\",\"function\",\"message\","
              "\"warning\",\"closest\"}]}");
  c->add_option("--substitute-path", args->substitute,
                "FROM=TO: a substitutePath rule of the launch (repeatable, dlv's order)");
  c->add_option("--mode", args->mode, "the launch mode (exec|debug|test; default exec)")
      ->check(CLI::IsMember({"exec", "debug", "test"}));
  c->add_option("--arch", args->arch, "slice of a universal Mach-O binary (amd64|arm64)");
  c->add_option("--cache-dir", args->cache_dir,
                "index cache directory (default $XDG_CACHE_HOME/dlvidx)");
  c->footer(
      "Exit status: 0 if every location binds, 2 if some do not, 1 on errors.\n"
      "Example:\n  dlvidx explain ./server ~/src/server/main.go:42 --substitute-path "
      "/home/me/src=/app");
  c->callback([args] {
    std::vector<Query> queries;
    for (const auto& q : args->queries) queries.push_back(parse_query(q));
    std::vector<index::PathRule> rules;
    for (const auto& s : args->substitute) rules.push_back(parse_rule(s));

    index::IndexHandle h = open_index_noted(args->binary, args->arch, args->cache_dir);
    const index::IndexView& v = h.view();

    index::SessionFacts facts;
    facts.mode = args->mode;
    std::error_code ec;
    auto mtime = fs::last_write_time(args->binary, ec);
    if (!ec) facts.binary_mtime = mtime;
    index::SourceMap map(v, std::move(rules));
    index::LineSnapper snap(v);
    index::Diagnoser diagnoser(v, map, snap, facts);

    bool all_verified = true;
    boost::json::array locations;
    for (size_t i = 0; i < queries.size(); i++) {
      const Query& q = queries[i];
      index::Diagnosis d = diagnoser.diagnose(q.file, q.line);
      all_verified = all_verified && d.verified();
      if (args->json) {
        locations.push_back(to_json(v, q, d));
      } else {
        if (i) fmt::print("\n");
        print_text(v, q, d);
      }
    }
    if (args->json)
      fmt::print("{}\n", boost::json::serialize(boost::json::object{
                             {"binary", args->binary}, {"locations", std::move(locations)}}));
    if (!all_verified) throw CLI::RuntimeError(2);
  });
}

}  // namespace dlvidx::cli

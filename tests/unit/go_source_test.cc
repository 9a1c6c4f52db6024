// scan_go_source on real Go: every lexical trap that could move a brace in or out of a function
// (comments, strings, raw strings, runes), every declaration shape, Go's standard library itself,
// and hostile input that must neither crash nor answer wrongly.
#include "index/go_source.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch_test_macros.hpp>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

using dlvidx::index::enclosing_function;
using dlvidx::index::GoFunc;
using dlvidx::index::GoSource;
using dlvidx::index::scan_go_file;
using dlvidx::index::scan_go_source;

namespace {

// The 1-based line of the first line of `text` containing `marker`; 0 if none.
uint32_t line_of(std::string_view text, std::string_view marker) {
  size_t at = text.find(marker);
  if (at == std::string_view::npos) return 0;
  return 1 + static_cast<uint32_t>(std::count(text.begin(), text.begin() + at, '\n'));
}

const GoFunc* find(const GoSource& src, std::string_view name) {
  for (const GoFunc& f : src.funcs)
    if (f.name == name) return &f;
  return nullptr;
}

std::vector<std::string> names(const GoSource& src) {
  std::vector<std::string> out;
  for (const GoFunc& f : src.funcs) out.push_back(f.name);
  return out;
}

// Markers " <name>{" and " <name>}" in comments give the expected decl and end lines.
uint32_t mark(std::string_view text, const std::string& name, char brace) {
  return line_of(text, " " + name + brace);
}

void check_marked(std::string_view text, const GoSource& src) {
  for (const GoFunc& f : src.funcs) {
    INFO(f.name);
    CHECK(f.decl_line == mark(text, f.name, '{'));
    CHECK(f.end_line == mark(text, f.name, '}'));
  }
}

const std::string kBasic = R"(// Package p is a test.
package p

import (
	"fmt"
)

var x = 1

func helper() int { // helper{
	return x
} // helper}

type T struct{ n int }

func (t *T) M() { // (*T).M{
	t.n++
} // (*T).M}

func (t T) V() int { return t.n } // T.V{ T.V}
func (T) N()       {}             // T.N{ T.N}
func (*T) P()      {}             // (*T).P{ (*T).P}
)";

}  // namespace

TEST_CASE("functions, methods and package-level lines", "[gosource]") {
  auto src = scan_go_source(kBasic);
  REQUIRE(src);
  CHECK(src->package == "p");
  CHECK(names(*src) == std::vector<std::string>{"helper", "(*T).M", "T.V", "T.N", "(*T).P"});
  check_marked(kBasic, *src);
  CHECK(enclosing_function(*src, 11)->name == "helper");
  CHECK(enclosing_function(*src, 17)->name == "(*T).M");
  for (uint32_t line : {1, 2, 5, 8, 9, 13, 14, 15, 19, 23, 1000}) {
    INFO(line);
    CHECK(enclosing_function(*src, line) == nullptr);
  }
}

TEST_CASE("generic functions and receivers", "[gosource]") {
  const std::string text = R"(package list

type List[T any] struct{ items []T }

func (l *List[T]) Push(v T) { // (*List[...]).Push{
	l.items = append(l.items, v)
} // (*List[...]).Push}

func (l List[T]) Len() int { return len(l.items) } // List[...].Len{ List[...].Len}

func (m *Map[K, V]) Get(k K) (v V, ok bool) { // (*Map[...]).Get{
	return
} // (*Map[...]).Get}

func Map[T, U any](s []T, f func(T) U) []U { // Map{
	var out []U
	return out
} // Map}

func Keys[M ~map[K]V, K comparable, V any](m M) []K { return nil } // Keys{ Keys}
)";
  auto src = scan_go_source(text);
  REQUIRE(src);
  CHECK(names(*src) == std::vector<std::string>{"(*List[...]).Push", "List[...].Len",
                                                "(*Map[...]).Get", "Map", "Keys"});
  check_marked(text, *src);
}

TEST_CASE("braces and func inside comments, strings, raw strings and runes", "[gosource]") {
  const std::string text = R"(package p

/* a block comment { with
func notMe() {
   braces } } } */

func a() { // a{
	s := "a } \" { func b() {" // }
	r := `raw } string
func notMe2() {
` + "\\" + `}`
	c := '\''
	d := '"'
	e := '`'
	f := '}'
	g := '\\'
	_ = /* } */ s + r + string(c) + string(d) + string(e) + string(f) + string(g)
} // a}

func funcName() {} // funcName{ funcName}

func b() { // b{
	funcName()
	f := func() { // a function literal belongs to b
		funcName := 1
		_ = funcName
	}
	f()
} // b}
)";
  auto src = scan_go_source(text);
  REQUIRE(src);
  CHECK(names(*src) == std::vector<std::string>{"a", "funcName", "b"});
  check_marked(text, *src);
  CHECK(enclosing_function(*src, 4) == nullptr);
  CHECK(enclosing_function(*src, 11)->name == "a");
  CHECK(enclosing_function(*src, line_of(text, "funcName := 1"))->name == "b");
}

TEST_CASE("func in types and variables is not a declaration", "[gosource]") {
  const std::string text = R"(package p

type F func() int
type I interface {
	M(func()) func()
}
type S struct {
	cb func(x int) (int, error)
}

var f = func() int {
	return 1
}

var (
	g = func() {}
	h func()
)

var funcs = []func(){func() {}}

func real() {} // real{ real}
)";
  auto src = scan_go_source(text);
  REQUIRE(src);
  CHECK(names(*src) == std::vector<std::string>{"real"});
  check_marked(text, *src);
  // A top-level variable's function literal has code, but its lines are package-level.
  CHECK(enclosing_function(*src, 12) == nullptr);
}

TEST_CASE("results, named results and multi-line signatures", "[gosource]") {
  const std::string text = R"(package p

func named() (n int, err error) { return } // named{ named}

func anon() struct{ x int } { // anon{
	return struct{ x int }{}
} // anon}

func empty() interface{} { return nil } // empty{ empty}

func mk() map[string]struct{} { return nil } // mk{ mk}

func gen() func() { // gen{
	return func() {}
} // gen}

func long( // long{
	a int,
	b string,
) (int, // more
	error) {
	return 0, nil
} // long}

func tight(a,
	b int) { // tight{
} // tight}
)";
  auto src = scan_go_source(text);
  REQUIRE(src);
  CHECK(names(*src) ==
        std::vector<std::string>{"named", "anon", "empty", "mk", "gen", "long", "tight"});
  for (const GoFunc& f : src->funcs) {
    INFO(f.name);
    if (f.name != "tight") CHECK(f.decl_line == mark(text, f.name, '{'));
    CHECK(f.end_line == mark(text, f.name, '}'));
  }
  CHECK(find(*src, "tight")->decl_line == line_of(text, "func tight"));
  CHECK(enclosing_function(*src, line_of(text, "b string,"))->name == "long");
}

TEST_CASE("declarations without a body", "[gosource]") {
  const std::string text = R"(package runtime

import _ "unsafe"

//go:linkname now time.now
func now() (sec int64, nsec int32, mono int64) // now{

// Implemented in assembly.
func add(x, y int) int // add{
func noescape(p struct{ x int }) // noescape{

func after() { // after{
} // after}
func last(
	a int,
) error)";
  auto src = scan_go_source(text);
  REQUIRE(src);
  CHECK(names(*src) == std::vector<std::string>{"now", "add", "noescape", "after", "last"});
  for (const GoFunc& f : src->funcs) {
    INFO(f.name);
    if (f.name != "last") CHECK(f.decl_line == mark(text, f.name, '{'));
    CHECK(f.end_line == (f.name == "after" ? mark(text, "after", '}') : 0));
  }
  CHECK(enclosing_function(*src, line_of(text, "func add")) == nullptr);
}

TEST_CASE("CRLF line ends, a byte order mark and semicolons", "[gosource]") {
  std::string crlf;
  for (char c : kBasic) crlf += c == '\n' ? std::string("\r\n") : std::string(1, c);
  auto a = scan_go_source(kBasic);
  auto b = scan_go_source("\xEF\xBB\xBF" + crlf);
  REQUIRE(a);
  REQUIRE(b);
  REQUIRE(a->funcs.size() == b->funcs.size());
  for (size_t i = 0; i < a->funcs.size(); ++i) {
    CHECK(a->funcs[i].name == b->funcs[i].name);
    CHECK(a->funcs[i].decl_line == b->funcs[i].decl_line);
    CHECK(a->funcs[i].end_line == b->funcs[i].end_line);
  }
  auto one = scan_go_source("package p; func f() {}; func g() {}");
  REQUIRE(one);
  CHECK(names(*one) == std::vector<std::string>{"f", "g"});
}

TEST_CASE("the standard library's strings.Builder", "[gosource]") {
  const std::string path = "/usr/lib/go-1.27/src/strings/builder.go";
  // (The emulated arm64 machine runs these tests without a Go installation.)
  if (!std::filesystem::exists(path)) SKIP("no Go 1.27 installation at /usr/lib/go-1.27");
  std::ifstream in(path);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  // Expected from the text: the declaration's line and the next line that is exactly "}".
  uint32_t decl = line_of(text, "func (b *Builder) WriteString");
  REQUIRE(decl > 0);
  uint32_t end = 0, n = 0;
  std::istringstream lines(text);
  for (std::string l; std::getline(lines, l) && !end;)
    if (++n > decl && l == "}") end = n;

  auto src = scan_go_file(path);
  REQUIRE(src);
  CHECK(src->package == "strings");
  const GoFunc* f = find(*src, "(*Builder).WriteString");
  REQUIRE(f);
  CHECK(f->decl_line == decl);
  CHECK(f->end_line == end);
  CHECK(find(*src, "(*Builder).String"));
  CHECK(enclosing_function(*src, decl + 1) == f);
  CHECK(enclosing_function(*src, line_of(text, "package strings")) == nullptr);
}

TEST_CASE("every top-level func of a standard library package", "[gosource]") {
  // gofmt puts each top-level declaration at column 0 and nothing else there starts with "func ".
  namespace fs = std::filesystem;
  if (!fs::exists("/usr/lib/go-1.27/src/strings"))
    SKIP("no Go 1.27 installation at /usr/lib/go-1.27");
  size_t files = 0;
  for (const char* dir : {"/usr/lib/go-1.27/src/strings", "/usr/lib/go-1.27/src/runtime"}) {
    for (const auto& e : fs::directory_iterator(dir)) {
      std::string p = e.path().string();
      if (e.path().extension() != ".go" || p.ends_with("_test.go")) continue;
      std::ifstream in(p);
      std::stringstream ss;
      ss << in.rdbuf();
      // Generators (mklockrank.go ...) write Go in raw strings: "func " at column 0 there is text.
      if (ss.str().find("//go:build ignore") != std::string::npos) continue;
      std::vector<uint32_t> want;
      std::istringstream lines(ss.str());
      uint32_t n = 0;
      for (std::string l; std::getline(lines, l);)
        if (++n, l.starts_with("func ") || l.starts_with("func(")) want.push_back(n);
      auto src = scan_go_file(p);
      INFO(p);
      REQUIRE(src);
      std::vector<uint32_t> got;
      for (const GoFunc& f : src->funcs) got.push_back(f.decl_line);
      CHECK(got == want);
      ++files;
    }
  }
  CHECK(files > 100);
}

TEST_CASE("hostile input", "[gosource]") {
  CHECK_FALSE(scan_go_source(""));
  CHECK_FALSE(scan_go_source("// only a comment\n"));
  CHECK_FALSE(scan_go_source("func f() {}\n"));  // no package clause
  CHECK_FALSE(scan_go_source("package\n"));      // no package name
  CHECK_FALSE(scan_go_source("package p\nfunc f() { s := \"open }\n}\n"));
  CHECK_FALSE(scan_go_source("package p\nfunc f() { /* open }\n"));
  CHECK_FALSE(scan_go_source("package p\nvar s = `open\n"));
  CHECK_FALSE(scan_go_source("package p\nvar r = '}\n"));
  CHECK_FALSE(scan_go_source("package p\nfunc f() {\n"));
  CHECK_FALSE(scan_go_source("package p\nfunc f() {}\n}\n"));
  CHECK_FALSE(scan_go_source("package p\nvar a = [3]int{1, 2, 3)\n"));
  CHECK_FALSE(scan_go_source("package p\nfunc (t *T M() {}\n"));
  CHECK_FALSE(scan_go_source(std::string("package p\nvar a = 1\x00\n", 22)));
  // Malformed headers are not declarations, and do not derail the scan.
  auto odd = scan_go_source("package p\nfunc () {}\nfunc 1\nfunc g() {}\n");
  REQUIRE(odd);
  CHECK(names(*odd) == std::vector<std::string>{"g"});

  std::mt19937 rng(12);
  for (int i = 0; i < 200; ++i) {
    std::string junk = i % 2 ? "package p\n" : "";
    for (int j = 0; j < 4000; ++j) junk += static_cast<char>(rng());
    auto r = scan_go_source(junk);  // must return; no answer is required of garbage
    if (r) CHECK(r->funcs.size() < junk.size());
  }
}

TEST_CASE("10 MB inputs stay linear and bounded", "[gosource]") {
  const size_t mb10 = 10u << 20;
  std::string open = "package p\nvar x = " + std::string(mb10, '(');
  CHECK_FALSE(scan_go_source(open));
  std::string deep =
      "package p\nfunc f() " + std::string(mb10 / 2, '{') + std::string(mb10 / 2, '}');
  auto d = scan_go_source(deep);
  REQUIRE(d);
  CHECK(d->funcs.size() == 1);
  std::string many = "package p\n";
  while (many.size() < mb10) many += "func f() {\n\tx := \"}\"\n}\n";
  auto m = scan_go_source(many);
  REQUIRE(m);
  CHECK(m->funcs.size() == (many.size() - 10) / 23);
  CHECK(m->funcs.back().end_line == 1 + 3 * m->funcs.size());
}

TEST_CASE("scan_go_file refuses what it should not read", "[gosource]") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("go_source_test." + std::to_string(getpid()));
  fs::create_directories(dir);
  CHECK_FALSE(scan_go_file((dir / "missing.go").string()));
  CHECK_FALSE(scan_go_file(dir.string()));
  CHECK_FALSE(scan_go_file("/dev/null"));
  std::string big = "package p\n";
  while (big.size() <= (16u << 20)) big += "// filler filler filler filler filler filler filler\n";
  {
    std::ofstream(dir / "big.go", std::ios::binary) << big;
    std::ofstream(dir / "ok.go", std::ios::binary) << "package ok\nfunc f() {}\n";
  }
  CHECK(scan_go_source(big));  // valid Go: only its size is refused
  CHECK_FALSE(scan_go_file((dir / "big.go").string()));
  auto ok = scan_go_file((dir / "ok.go").string());
  REQUIRE(ok);
  CHECK(ok->package == "ok");
  fs::remove_all(dir);
}

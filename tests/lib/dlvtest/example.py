"""The example fixture (tests/fixtures/example) as the DAP tests use it: its paths, the
corpus names of its builds, its source lines (found by content, so that the tests
survive small edits of the fixture), and what vscode-go sends to start a session."""

import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
EXAMPLE_DIR = os.path.join(REPO, "tests", "fixtures", "example")
MAIN_GO = os.path.join(EXAMPLE_DIR, "main.go")
WORK_GO = os.path.join(EXAMPLE_DIR, "work", "work.go")
SPIN_GO = os.path.join(EXAMPLE_DIR, "spin.go")

# The builds the sessions debug natively: linux-amd64, or $DLVIDX_EXAMPLE_TARGET (GOOS-GOARCH, set by
# tests/dap/tests.cmake on macOS: darwin-arm64).
TARGET = os.environ.get("DLVIDX_EXAMPLE_TARGET") or "linux-amd64"
BIN_127 = f"example-go127-{TARGET}"
BIN_122 = f"example-go122-{TARGET}"
BIN_TRIM = f"example-go127-{TARGET}+trimpath"
BIN_PIE = f"example-go127-{TARGET}+pie"

INITIALIZE_ARGS = {
    "clientID": "vscode", "clientName": "Visual Studio Code", "adapterID": "go",
    "pathFormat": "path", "linesStartAt1": True, "columnsStartAt1": True,
    "supportsVariableType": True, "supportsVariablePaging": True,
    "supportsRunInTerminalRequest": False, "locale": "en",
}


def arm64_name(name):
    """The linux/arm64 corpus name for a linux/amd64 one (others unchanged)."""
    return name.replace("-linux-amd64", "-linux-arm64")


def exec_launch(binary):
    return {"name": "Launch", "type": "go", "request": "launch", "mode": "exec", "program": binary}


def read_lines(path):
    with open(path) as f:
        return f.read().split("\n")


def line_of(path, text, nth=1):
    """1-based number of the nth line of path whose stripped text == text."""
    n = 0
    for i, line in enumerate(read_lines(path), 1):
        if line.strip() == text:
            n += 1
            if n == nth:
                return i
    raise AssertionError(f"{path}: no line {text!r} (#{nth})")


class Lines:
    """The lines of the fixture the scenarios use."""

    def __init__(self):
        m = MAIN_GO
        self.main_text = read_lines(m)
        # run(): executed once, in this order.
        self.run_func = line_of(m, "func run() (code int) {")
        self.note_greeting = line_of(m, "note(&log, greeting)")          # bp 1 (run)
        self.blank_in_run = self.note_greeting + 1                        # blank line
        self.mean = line_of(m, "mean := shapesDemo(&log)")                # next after blank
        self.return1 = line_of(m, "return 1")
        self.brace_in_run = self.return1 + 1                              # lone "}" of `if err != nil {`
        self.work_println = line_of(m, 'fmt.Println("work:", summary)')   # next after that "}"
        self.block_comment = line_of(m, "/*")                             # "/*" line in run()
        self.log_println = line_of(m, 'fmt.Println("log:", strings.Join(append(startup, log...), "; "))')
        self.main_end = line_of(m, "os.Exit(run())") + 1                  # "}" of main
        # shapesDemo(): bp 2 of full_session.
        self.record = line_of(m, "record := st.add // method value")
        # storeDemo(): a // comment line as the first line of the body.
        self.store_comment = line_of(m, "// Store instantiated with two different type-argument lists.")
        self.by_name = line_of(m, "byName := store.New[string, int]()")
        # workDemo(): the loop of the immediately-invoked closure over
        # inputs = {3, 1, 4, 1, 5}; x is the loop variable, m the running max.
        self.loop_body = line_of(m, "m = max(m, x)")
        # work.go: Process(), executed once.
        self.calls = line_of(WORK_GO, "calls := 0")
        # spin.go: `example spin` calls tick() every millisecond until killed.
        self.tick = line_of(SPIN_GO, "doubled := i * 2")
        self.sleep = line_of(SPIN_GO, "time.Sleep(time.Millisecond)")

    def text(self, n):
        return self.main_text[n - 1]

    def sanity(self):
        """(label, ok) pairs checking that the picked lines are what they
        should be."""
        t = self.text
        return [
            ("blank line after note(&log, greeting)", t(self.blank_in_run).strip() == ""),
            ("lone } after `return 1`", t(self.brace_in_run).strip() == "}"),
            ("mean := follows the blank line", self.mean == self.blank_in_run + 1),
            ("work: println follows the }", self.work_println == self.brace_in_run + 1),
            ("log: println follows the block comment", self.log_println == self.block_comment + 4),
            ("byName := follows the // comment", self.by_name == self.store_comment + 1),
            ("order in run()", self.run_func < self.note_greeting < self.mean < self.brace_in_run
             < self.block_comment < self.log_println < self.main_end),
        ]

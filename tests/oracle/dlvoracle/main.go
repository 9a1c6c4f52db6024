// Command dlvoracle is dlvidx's "ask dlv itself" oracle: for each FILE:LINE
// query it asks a real Delve which PCs a breakpoint on that line gets, so
// dlvidx's answers can be compared with Delve's own.
//
// Usage:
//
//	dlvoracle [--dlv PATH] [--dlv-arg ARG]... [--find] [--addr-of SYMBOL] [--timeout D] BINARY < queries
//
// Each stdin line is FILE:LINE (split at the last colon; blank lines are
// skipped). dlvoracle starts
//
//	dlv exec BINARY --headless --api-version=2 --listen=127.0.0.1:0 [--dlv-arg ...]
//
// as a child, reads the "API server listening at:" line from its stdout
// (everything else dlv prints is forwarded to stderr), and talks to it with
// JSON-RPC (API v2, the net/rpc/jsonrpc codec).
//
// Default mode mirrors what Delve's DAP server does for setBreakpoints:
// RPCServer.CreateBreakpoint with Breakpoint{File, Line} and no LocExpr,
// then RPCServer.ClearBreakpoint on the returned id. With --find it calls
// RPCServer.FindLocation{Loc: "FILE:LINE", IncludeNonExecutableLines: false}
// instead (note: that resolves FILE as a location expression, so a partial
// path may match).
//
// Output: one JSON object per query, in input order:
//
//	{"file":F,"line":N,"pcs":["0x…",…]}      sorted ascending, lowercase hex
//	{"file":F,"line":N,"error":"…"}          dlv's error text, verbatim
//
// With --addr-of SYMBOL the first output line is, before any answer,
//
//	{"symbol":SYMBOL,"addr":"0x…"}          RPCServer.Eval of SYMBOL: its runtime address
//
// so that a caller can learn the load bias of a position-independent binary
// from dlv itself (runtime address minus the symbol table's link address).
//
// At the end it calls RPCServer.Detach{Kill: true}, waits up to 10 s for the
// child, then SIGKILLs that child's PID if it is still alive. --timeout
// (default 20m) bounds the whole run.
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/rpc"
	"net/rpc/jsonrpc"
	"os"
	"os/exec"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// The request/response shapes below are the subset of Delve's API v2 types
// (service/rpc2, service/api) this tool needs, with the same JSON names.

type apiBreakpoint struct {
	ID    int      `json:"id"`
	Addr  uint64   `json:"addr"`
	Addrs []uint64 `json:"addrs"`
	File  string   `json:"file"`
	Line  int      `json:"line"`
}

type createBreakpointIn struct {
	Breakpoint apiBreakpoint
}

type createBreakpointOut struct {
	Breakpoint apiBreakpoint
}

type clearBreakpointIn struct {
	Id int
}

type evalScope struct {
	GoroutineID  int64
	Frame        int
	DeferredCall int
}

type findLocationIn struct {
	Scope                     evalScope
	Loc                       string
	IncludeNonExecutableLines bool
}

type location struct {
	PC   uint64   `json:"pc"`
	File string   `json:"file"`
	Line int      `json:"line"`
	PCs  []uint64 `json:"pcs,omitempty"`
}

type findLocationOut struct {
	Locations []location
}

type loadConfig struct {
	FollowPointers     bool
	MaxVariableRecurse int
	MaxStringLen       int
	MaxArrayValues     int
	MaxStructFields    int
}

type evalIn struct {
	Scope evalScope
	Expr  string
	Cfg   *loadConfig
}

type evalOut struct {
	Variable *struct {
		Addr uint64 `json:"addr"`
	}
}

// symbolAddr is the --addr-of header line.
type symbolAddr struct {
	Symbol string `json:"symbol"`
	Addr   string `json:"addr"`
}

type detachIn struct {
	Kill bool
}

// result is one output line.
type result struct {
	File  string    `json:"file"`
	Line  int       `json:"line"`
	PCs   *[]string `json:"pcs,omitempty"`
	Error string    `json:"error,omitempty"`
	// Micros is how long dlv took to answer (CreateBreakpoint + ClearBreakpoint,
	// or FindLocation), in microseconds.
	Micros float64 `json:"us"`
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, " ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	dlvPath := flag.String("dlv", "dlv", "path of the dlv executable")
	var dlvArgs multiFlag
	flag.Var(&dlvArgs, "dlv-arg", "extra argument for dlv exec (repeatable), e.g. --check-go-version=false")
	find := flag.Bool("find", false, "use RPCServer.FindLocation instead of CreateBreakpoint/ClearBreakpoint")
	addrOf := flag.String("addr-of", "", "first print the runtime address of this package variable (dlv's Eval)")
	timeout := flag.Duration("timeout", 20*time.Minute, "hard limit for the whole run")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: dlvoracle [flags] BINARY < queries   (one FILE:LINE per line)\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(*dlvPath, dlvArgs, flag.Arg(0), *find, *addrOf, *timeout))
}

// child is the running dlv process.
type child struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd.Wait returns
	client *rpc.Client
	once   sync.Once
}

func run(dlvPath string, dlvArgs []string, binary string, find bool, addrOf string, timeout time.Duration) int {
	c, err := startDlv(dlvPath, dlvArgs, binary)
	if err != nil {
		fmt.Fprintf(os.Stderr, "dlvoracle: %v\n", err)
		return 1
	}

	// Hard timeout and signals: shut dlv down and exit.
	abort := func(why string) {
		fmt.Fprintf(os.Stderr, "dlvoracle: %s; stopping dlv (pid %d)\n", why, c.cmd.Process.Pid)
		c.shutdown(3 * time.Second)
		os.Exit(1)
	}
	timer := time.AfterFunc(timeout, func() { abort(fmt.Sprintf("timeout after %v", timeout)) })
	defer timer.Stop()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() { abort(fmt.Sprintf("got %v", <-sigs)) }()

	code := 0
	err = nil
	if addrOf != "" {
		err = c.printAddr(os.Stdout, addrOf)
	}
	if err == nil {
		err = c.answer(os.Stdin, os.Stdout, find)
	}
	if err != nil {
		select { // a dropped connection usually means dlv quit: say so
		case <-c.exited:
			err = fmt.Errorf("%v (dlv exited: %v; see its output above)", err, c.cmd.ProcessState)
		case <-time.After(time.Second):
		}
		fmt.Fprintf(os.Stderr, "dlvoracle: %v\n", err)
		code = 1
	}
	c.shutdown(10 * time.Second)
	return code
}

// startDlv launches dlv headless and connects to its JSON-RPC server.
func startDlv(dlvPath string, dlvArgs []string, binary string) (*child, error) {
	args := append([]string{"exec", binary, "--headless", "--api-version=2", "--listen=127.0.0.1:0"}, dlvArgs...)
	cmd := exec.Command(dlvPath, args...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %v", dlvPath, err)
	}
	c := &child{cmd: cmd, exited: make(chan struct{})}

	// Scan dlv's stdout: the first "listening at" line gives the address,
	// everything else goes to our stderr. Keep draining until EOF.
	addrc := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		const marker = "API server listening at: "
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		found := false
		for sc.Scan() {
			line := sc.Text()
			if i := strings.Index(line, marker); i >= 0 && !found {
				found = true
				addrc <- strings.TrimSpace(line[i+len(marker):])
				continue
			}
			fmt.Fprintf(os.Stderr, "dlv: %s\n", line)
		}
		close(addrc)
	}()
	go func() {
		<-drained // Wait must not be called before pipe reads complete
		cmd.Wait()
		close(c.exited)
	}()

	var addr string
	select {
	case a, ok := <-addrc:
		if !ok {
			<-c.exited
			return nil, fmt.Errorf("dlv exited before listening (%v)", cmd.ProcessState)
		}
		addr = a
	case <-time.After(60 * time.Second):
		c.kill()
		return nil, errors.New("dlv did not print its listening address within 60s")
	}

	client, err := jsonrpc.Dial("tcp", addr)
	if err != nil {
		c.kill()
		return nil, fmt.Errorf("connecting to dlv at %s: %v", addr, err)
	}
	c.client = client
	return c, nil
}

// answer reads queries from in and writes one JSON result per query to out.
func (c *child) answer(in *os.File, out *os.File, find bool) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	w := bufio.NewWriter(out)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)

	start := time.Now()
	var first time.Duration
	n := 0
	for sc.Scan() {
		q := strings.TrimSpace(sc.Text())
		if q == "" {
			continue
		}
		i := strings.LastIndexByte(q, ':')
		if i < 0 {
			return fmt.Errorf("malformed query %q: want FILE:LINE", q)
		}
		line, err := strconv.Atoi(q[i+1:])
		if err != nil {
			return fmt.Errorf("malformed query %q: bad line number", q)
		}
		res := result{File: q[:i], Line: line}
		var pcs []uint64
		t0 := time.Now()
		if find {
			pcs, err = c.findLocation(res.File, res.Line)
		} else {
			pcs, err = c.breakpointPCs(res.File, res.Line)
			// dlv's own breakpoints (unrecovered-panic, fatal-throw) sit at
			// some lines' addresses: creating a second one fails with
			// "Breakpoint exists at F:N at ADDR". That is session state, not
			// line resolution: ask FindLocation (same FindFileLocation) instead.
			var exists rpc.ServerError
			if errors.As(err, &exists) && strings.HasPrefix(string(exists), "Breakpoint exists at ") {
				pcs, err = c.findLocation(res.File, res.Line)
			}
		}
		res.Micros = float64(time.Since(t0).Nanoseconds()) / 1000
		var rpcErr rpc.ServerError
		switch {
		case errors.As(err, &rpcErr):
			res.Error = string(rpcErr)
		case err != nil:
			return fmt.Errorf("query %q: %v", q, err)
		default:
			res.PCs = hexList(pcs)
		}
		if err := enc.Encode(res); err != nil {
			return err
		}
		if err := w.Flush(); err != nil {
			return err
		}
		if n++; n == 1 {
			first = time.Since(start)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	el := time.Since(start)
	fmt.Fprintf(os.Stderr, "dlvoracle: %d queries in %.2fs (%.0f queries/s; the first took %.0fms)\n",
		n, el.Seconds(), float64(n)/el.Seconds(), first.Seconds()*1000)
	return nil
}

// printAddr writes the --addr-of line: where dlv says the variable sym is in
// the running process. Any failure is fatal: a caller that asked for it
// cannot interpret the answers without it.
func (c *child) printAddr(out *os.File, sym string) error {
	var ev evalOut
	in := evalIn{Scope: evalScope{GoroutineID: -1}, Expr: sym, Cfg: &loadConfig{}}
	if err := c.client.Call("RPCServer.Eval", in, &ev); err != nil {
		return fmt.Errorf("--addr-of %s: Eval: %v", sym, err)
	}
	if ev.Variable == nil || ev.Variable.Addr == 0 {
		return fmt.Errorf("--addr-of %s: dlv gave no address", sym)
	}
	b, err := json.Marshal(symbolAddr{Symbol: sym, Addr: "0x" + strconv.FormatUint(ev.Variable.Addr, 16)})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(out, "%s\n", b)
	return err
}

// breakpointPCs creates a File+Line breakpoint (as the DAP server does),
// records its addresses and clears it again. A dlv-side failure is returned
// as an rpc.ServerError; anything else is fatal.
func (c *child) breakpointPCs(file string, line int) ([]uint64, error) {
	var out createBreakpointOut
	in := createBreakpointIn{Breakpoint: apiBreakpoint{File: file, Line: line}}
	if err := c.client.Call("RPCServer.CreateBreakpoint", in, &out); err != nil {
		return nil, err
	}
	var cleared json.RawMessage
	if err := c.client.Call("RPCServer.ClearBreakpoint", clearBreakpointIn{Id: out.Breakpoint.ID}, &cleared); err != nil {
		return nil, fmt.Errorf("clearing breakpoint %d: %w", out.Breakpoint.ID, fatal{err})
	}
	pcs := out.Breakpoint.Addrs
	if len(pcs) == 0 && out.Breakpoint.Addr != 0 {
		pcs = []uint64{out.Breakpoint.Addr}
	}
	return pcs, nil
}

// findLocation resolves "FILE:LINE" with FindLocation and returns the union
// of the PCs of every location found (PC 0 is dropped: dlv answers that for
// a line whose only code is in a skipped wrapper, where CreateBreakpoint
// succeeds with no addresses).
func (c *child) findLocation(file string, line int) ([]uint64, error) {
	var out findLocationOut
	in := findLocationIn{
		Scope: evalScope{GoroutineID: -1},
		Loc:   fmt.Sprintf("%s:%d", file, line),
	}
	if err := c.client.Call("RPCServer.FindLocation", in, &out); err != nil {
		return nil, err
	}
	var pcs []uint64
	for _, l := range out.Locations {
		switch {
		case len(l.PCs) > 0:
			pcs = append(pcs, l.PCs...)
		case l.PC != 0: // a line with no usable PC comes back as PC 0
			pcs = append(pcs, l.PC)
		}
	}
	return pcs, nil
}

// fatal hides a ServerError from errors.As so that it aborts the run
// instead of being reported as a per-query error.
type fatal struct{ err error }

func (f fatal) Error() string { return f.err.Error() }

func hexList(pcs []uint64) *[]string {
	sort.Slice(pcs, func(i, j int) bool { return pcs[i] < pcs[j] })
	s := []string{}
	for i, pc := range pcs {
		if i > 0 && pc == pcs[i-1] {
			continue
		}
		s = append(s, "0x"+strconv.FormatUint(pc, 16))
	}
	return &s
}

// shutdown asks dlv to detach and kill the target, waits up to wait for
// the child to exit, then SIGKILLs the child's PID if it is still alive.
// Safe to call more than once and from several goroutines.
func (c *child) shutdown(wait time.Duration) {
	c.once.Do(func() {
		if c.client != nil {
			call := c.client.Go("RPCServer.Detach", detachIn{Kill: true}, new(json.RawMessage), nil)
			select {
			case <-call.Done:
				if call.Error != nil && !errors.Is(call.Error, rpc.ErrShutdown) {
					fmt.Fprintf(os.Stderr, "dlvoracle: detach: %v\n", call.Error)
				}
			case <-time.After(wait):
				fmt.Fprintf(os.Stderr, "dlvoracle: detach did not answer within %v\n", wait)
			}
			c.client.Close()
		}
		select {
		case <-c.exited:
		case <-time.After(wait):
			fmt.Fprintf(os.Stderr, "dlvoracle: dlv (pid %d) still running after %v; sending SIGKILL\n",
				c.cmd.Process.Pid, wait)
			c.kill()
		}
	})
}

// kill SIGKILLs the dlv child (by PID, nothing else) and reaps it.
func (c *child) kill() {
	c.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-c.exited:
	case <-time.After(5 * time.Second):
	}
}

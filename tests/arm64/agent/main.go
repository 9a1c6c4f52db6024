// dlvidx-agent: runs inside the emulated linux/arm64 guest (tests/arm64/guest.py)
// and serves a small JSON-over-HTTP API on 0.0.0.0:7000, reached from the host
// only through qemu's user-mode hostfwd on 127.0.0.1. Standard library only.
//
//	GET  /ping                                   {"ok":true}
//	POST /put?path=P&mode=0755&sha256=H[&probe=1] body: raw file bytes; probe=1 only
//	                                             checks whether P already has sha256 H
//	POST /run    {argv,env,cwd,stdin,timeout}    {returncode,stdout,stderr,elapsed,timed_out}
//	POST /spawn  {argv,env,cwd}                  {id,pid}
//	POST /read   {id,offsets[3],known_exit,wait} {data[3],eof[3],exited,returncode}
//	POST /stdin  {id,data,close}                 {ok}
//	POST /signal {id|pid,signal}                 {delivered}
//	POST /wait   {id,timeout}                    {exited,returncode}
//	GET  /ps                                     [{pid,ppid,comm,cmdline,starttime}]
//	POST /poweroff                               {ok}, then sync and power off
//
// []byte fields travel as base64 (encoding/json). Streams are 0 stdout, 1 stderr,
// 2 fd 3. Every child runs in its own process group with stdin a pipe or /dev/null.
package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const readyLine = "DLVIDX-AGENT-READY"

type spec struct {
	Argv []string          `json:"argv"`
	Env  map[string]string `json:"env"`
	Cwd  string            `json:"cwd"`
}

// command builds the exec'd process: default env merged with the caller's, the
// program looked up in that env's PATH, its own process group.
func command(s spec) (*exec.Cmd, error) {
	if len(s.Argv) == 0 {
		return nil, errors.New("empty argv")
	}
	env := map[string]string{"PATH": "/usr/local/bin:/usr/bin:/bin:/sbin", "HOME": "/root"}
	for k, v := range s.Env {
		env[k] = v
	}
	prog := s.Argv[0]
	if !strings.Contains(prog, "/") {
		found := ""
		for _, dir := range filepath.SplitList(env["PATH"]) {
			if st, err := os.Stat(filepath.Join(dir, prog)); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
				found = filepath.Join(dir, prog)
				break
			}
		}
		if found == "" {
			return nil, fmt.Errorf("%s: not found in PATH=%s", prog, env["PATH"])
		}
		prog = found
	}
	c := exec.Command(prog)
	c.Args = s.Argv
	for k, v := range env {
		c.Env = append(c.Env, k+"="+v)
	}
	c.Dir = s.Cwd
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return c, nil
}

func returncode(st *os.ProcessState) int {
	if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return -int(ws.Signal())
	}
	return st.ExitCode()
}

func handleRun(r *http.Request) (any, error) {
	var req struct {
		spec
		Stdin   []byte  `json:"stdin"`
		Timeout float64 `json:"timeout"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, err
	}
	c, err := command(req.spec)
	if err != nil {
		return nil, err
	}
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if len(req.Stdin) > 0 {
		c.Stdin = bytes.NewReader(req.Stdin)
	} // else /dev/null
	c.WaitDelay = 2 * time.Second // a leftover child holding stdout does not block us
	if req.Timeout <= 0 {
		req.Timeout = 60
	}
	start := time.Now()
	if err := c.Start(); err != nil {
		return nil, fmt.Errorf("start %q: %w", req.Argv, err)
	}
	var timedOut atomic.Bool
	timer := time.AfterFunc(time.Duration(req.Timeout*float64(time.Second)), func() {
		timedOut.Store(true)
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
	})
	c.Wait()
	timer.Stop()
	return map[string]any{"returncode": returncode(c.ProcessState), "stdout": stdout.Bytes(),
		"stderr": stderr.Bytes(), "elapsed": time.Since(start).Seconds(), "timed_out": timedOut.Load()}, nil
}

// proc is a spawned background process and everything it has written so far.
type proc struct {
	cmd        *exec.Cmd
	stdin      *os.File
	mu         sync.Mutex
	changed    chan struct{} // closed and replaced on every change
	data       [3][]byte
	eof        [3]bool
	exited     bool
	returncode int
}

var (
	procsMu sync.Mutex
	procs   = map[int]*proc{}
	nextID  = 1
)

func (p *proc) notify() { close(p.changed); p.changed = make(chan struct{}) } // p.mu held

// await waits (at most d) until ready() holds; ready runs with p.mu held.
func (p *proc) await(d time.Duration, ready func() bool) {
	deadline := time.Now().Add(d)
	for {
		p.mu.Lock()
		ok, ch := ready(), p.changed
		p.mu.Unlock()
		left := time.Until(deadline)
		if ok || left <= 0 {
			return
		}
		select {
		case <-ch:
		case <-time.After(left):
		}
	}
}

func handleSpawn(r *http.Request) (any, error) {
	var req spec
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, err
	}
	c, err := command(req)
	if err != nil {
		return nil, err
	}
	var rs, ws [4]*os.File // 0 stdin, 1 stdout, 2 stderr, 3 fd 3
	for i := range rs {
		if rs[i], ws[i], err = os.Pipe(); err != nil {
			return nil, err
		}
	}
	c.Stdin, c.Stdout, c.Stderr, c.ExtraFiles = rs[0], ws[1], ws[2], []*os.File{ws[3]}
	p := &proc{cmd: c, stdin: ws[0], changed: make(chan struct{})}
	err = c.Start()
	rs[0].Close()
	for _, f := range ws[1:] {
		f.Close()
	}
	if err != nil {
		ws[0].Close()
		for _, f := range rs[1:] {
			f.Close()
		}
		return nil, fmt.Errorf("start %q: %w", req.Argv, err)
	}
	for i, f := range rs[1:] {
		go func(i int, f *os.File) {
			buf := make([]byte, 64<<10)
			for {
				n, err := f.Read(buf)
				p.mu.Lock()
				p.data[i] = append(p.data[i], buf[:n]...)
				if err != nil {
					p.eof[i] = true
				}
				p.notify()
				p.mu.Unlock()
				if err != nil {
					f.Close()
					return
				}
			}
		}(i, f)
	}
	go func() {
		c.Wait()
		p.mu.Lock()
		p.exited, p.returncode = true, returncode(c.ProcessState)
		p.notify()
		p.mu.Unlock()
	}()
	procsMu.Lock()
	id := nextID
	nextID++
	procs[id] = p
	procsMu.Unlock()
	return map[string]any{"id": id, "pid": c.Process.Pid}, nil
}

func lookup(id int) (*proc, error) {
	procsMu.Lock()
	defer procsMu.Unlock()
	if p := procs[id]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("no spawned process with id %d", id)
}

func decodeFor(r *http.Request, req any, id *int) (*proc, error) {
	if err := json.NewDecoder(r.Body).Decode(req); err != nil {
		return nil, err
	}
	return lookup(*id)
}

func handleRead(r *http.Request) (any, error) {
	var req struct {
		ID        int     `json:"id"`
		Offsets   [3]int  `json:"offsets"`
		KnownExit bool    `json:"known_exit"`
		Wait      float64 `json:"wait"`
	}
	p, err := decodeFor(r, &req, &req.ID)
	if err != nil {
		return nil, err
	}
	p.await(time.Duration(min(req.Wait, 5)*float64(time.Second)), func() bool {
		done := p.exited
		for i := range p.data {
			if len(p.data[i]) > req.Offsets[i] {
				return true
			}
			done = done && p.eof[i]
		}
		return done || (p.exited && !req.KnownExit)
	})
	p.await(25*time.Millisecond, func() bool { // gather a little more: fewer round trips under a flood
		n, done := 0, p.exited
		for i := range p.data {
			n += len(p.data[i]) - req.Offsets[i]
			done = done && p.eof[i]
		}
		return n == 0 || n >= 64<<10 || done
	})
	p.mu.Lock()
	defer p.mu.Unlock()
	var data [3][]byte
	for i := range data {
		if off := min(req.Offsets[i], len(p.data[i])); off < len(p.data[i]) {
			data[i] = p.data[i][off:min(len(p.data[i]), off+(1<<20))]
		}
	}
	// eof only once everything up to it has been handed out
	eof := [3]bool{}
	for i := range eof {
		eof[i] = p.eof[i] && req.Offsets[i]+len(data[i]) == len(p.data[i])
	}
	return map[string]any{"data": data, "eof": eof, "exited": p.exited, "returncode": p.returncode}, nil
}

func handleStdin(r *http.Request) (any, error) {
	var req struct {
		ID    int    `json:"id"`
		Data  []byte `json:"data"`
		Close bool   `json:"close"`
	}
	p, err := decodeFor(r, &req, &req.ID)
	if err != nil {
		return nil, err
	}
	if len(req.Data) > 0 {
		p.stdin.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if _, err := p.stdin.Write(req.Data); err != nil {
			return nil, fmt.Errorf("write stdin: %w", err)
		}
	}
	if req.Close {
		p.stdin.Close()
	}
	return map[string]any{"ok": true}, nil
}

func handleSignal(r *http.Request) (any, error) {
	var req struct{ ID, Pid, Signal int }
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		return nil, err
	}
	sig := syscall.Signal(req.Signal)
	if req.ID != 0 { // through os.Process (a pidfd): never a recycled pid
		p, err := lookup(req.ID)
		if err != nil {
			return nil, err
		}
		err = p.cmd.Process.Signal(sig)
		if errors.Is(err, os.ErrProcessDone) {
			return map[string]any{"delivered": false}, nil
		}
		return map[string]any{"delivered": err == nil}, err
	}
	if err := syscall.Kill(req.Pid, sig); err != nil {
		return nil, fmt.Errorf("kill(%d, %d): %w", req.Pid, req.Signal, err)
	}
	return map[string]any{"delivered": true}, nil
}

func handleWait(r *http.Request) (any, error) {
	var req struct {
		ID      int     `json:"id"`
		Timeout float64 `json:"timeout"`
	}
	p, err := decodeFor(r, &req, &req.ID)
	if err != nil {
		return nil, err
	}
	p.await(time.Duration(min(req.Timeout, 30)*float64(time.Second)), func() bool { return p.exited })
	p.mu.Lock()
	defer p.mu.Unlock()
	return map[string]any{"exited": p.exited, "returncode": p.returncode}, nil
}

func handlePs(*http.Request) (any, error) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	list := []map[string]any{}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err1 := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		cmdline, err2 := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		i, j := bytes.IndexByte(stat, '('), bytes.LastIndexByte(stat, ')')
		if err1 != nil || err2 != nil || i < 0 || j < i {
			continue // gone meanwhile
		}
		f := strings.Fields(string(stat[j+1:])) // f[0] is field 3 (state)
		if len(f) < 20 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		start, _ := strconv.ParseUint(f[19], 10, 64)
		args := strings.Split(strings.TrimSuffix(string(cmdline), "\x00"), "\x00")
		if len(cmdline) == 0 {
			args = []string{}
		}
		list = append(list, map[string]any{"pid": pid, "ppid": ppid, "comm": string(stat[i+1 : j]),
			"state": f[0], "cmdline": args, "starttime": start})
	}
	return list, nil
}

func fileSha256(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

func handlePut(r *http.Request) (any, error) {
	q := r.URL.Query()
	path, want := q.Get("path"), q.Get("sha256")
	if !filepath.IsAbs(path) {
		return nil, fmt.Errorf("put: path %q is not absolute", path)
	}
	mode, err := strconv.ParseUint(q.Get("mode"), 8, 32)
	if err != nil {
		mode = 0o644
	}
	if q.Get("probe") != "" {
		if want == "" || fileSha256(path) != want {
			return map[string]any{"present": false}, nil
		}
		return map[string]any{"present": true}, os.Chmod(path, os.FileMode(mode))
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".put-*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), r.Body)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("put %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); want != "" && got != want {
		return nil, fmt.Errorf("put %s: sha256 %s, expected %s (%d bytes arrived)", path, got, want, n)
	}
	if err := os.Chmod(tmp.Name(), os.FileMode(mode)); err != nil {
		return nil, err
	}
	return map[string]any{"present": true, "size": n}, os.Rename(tmp.Name(), path)
}

func handlePoweroff(*http.Request) (any, error) {
	go func() {
		time.Sleep(200 * time.Millisecond) // let the response leave
		syscall.Sync()
		syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	}()
	return map[string]any{"ok": true}, nil
}

// The host's per-boot secret (guest.py puts it into the initramfs): the forwarded port is
// reachable by every local user of the host, the guest's root shell only by the test.
var token []byte

func handle(mux *http.ServeMux, route string, h func(*http.Request) (any, error)) {
	mux.HandleFunc(route, func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), token) != 1 {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		res, err := h(r)
		w.Header().Set("Content-Type", "application/json")
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			res = map[string]string{"error": err.Error()}
		}
		json.NewEncoder(w).Encode(res)
	})
}

func main() {
	secret, err := os.ReadFile("/etc/dlvidx-agent-token")
	if err != nil || len(bytes.TrimSpace(secret)) < 16 {
		fmt.Fprintln(os.Stderr, "dlvidx-agent: no /etc/dlvidx-agent-token:", err)
		os.Exit(1)
	}
	token = []byte("Bearer " + string(bytes.TrimSpace(secret)))
	mux := http.NewServeMux()
	handle(mux, "GET /ping", func(*http.Request) (any, error) { return map[string]bool{"ok": true}, nil })
	handle(mux, "POST /put", handlePut)
	handle(mux, "POST /run", handleRun)
	handle(mux, "POST /spawn", handleSpawn)
	handle(mux, "POST /read", handleRead)
	handle(mux, "POST /stdin", handleStdin)
	handle(mux, "POST /signal", handleSignal)
	handle(mux, "POST /wait", handleWait)
	handle(mux, "GET /ps", handlePs)
	handle(mux, "POST /poweroff", handlePoweroff)
	ln, err := net.Listen("tcp", "0.0.0.0:7000")
	if err != nil {
		fmt.Fprintln(os.Stderr, "dlvidx-agent:", err)
		os.Exit(1)
	}
	fmt.Printf("\n%s pid=%d\n", readyLine, os.Getpid())
	fmt.Fprintln(os.Stderr, "dlvidx-agent:", http.Serve(ln, mux))
	os.Exit(1)
}

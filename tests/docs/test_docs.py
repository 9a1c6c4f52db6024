"""Runs every snippet of docs/vscode.md (marked <!-- snippet: NAME -->).

settings: go.alternateTools points at the installed dlv link; a session runs through it.
launch:   every configuration, turned into what vscode-go sends (dlvFlags on the
          adapter's command line, debugServer = connect to a running server).
server:   `dlvidx dap --listen=...` started by hand, then a client connects.
ci:       the two commands run on a copy of the example.
nvim:     the adapter command line from the lua config.

    /usr/bin/python3 -m pytest tests/docs/test_docs.py -s --build BUILD_DIR [--dlv PATH]

One `ok` / `FAIL` line per check (seen with -s), then "N passed, M failed"; the test fails at its
end if any check failed.
"""
import json, os, re, shutil, subprocess, sys, tempfile

from dlvtest.adapters import free_port, start_adapter, stop_adapter
from dlvtest.dap import DAPClient
from dlvtest.example import EXAMPLE_DIR as EXAMPLE, MAIN_GO, REPO as ROOT

failures = []
passed = 0


def check(ok, what):
    global passed
    print(f"{'ok  ' if ok else 'FAIL'} {what}", flush=True)
    if ok:
        passed += 1
    else:
        failures.append(what)


def snippets():
    text = open(os.path.join(ROOT, "docs", "vscode.md")).read()
    return {m.group(1): m.group(2) for m in re.finditer(r"<!-- snippet: (\w+) -->\n```\w*\n(.*?)```", text, re.S)}


def corpus(name):
    return subprocess.run([sys.executable, os.path.join(ROOT, "tests", "corpus", "corpus.py"), "path", name],
                          check=True, capture_output=True, text=True).stdout.strip()


def code_line():
    src = open(MAIN_GO).read().splitlines()
    return next(i + 1 for i, t in enumerate(src) if t.strip().startswith("fmt.Println("))


def session(c, request, args, expect_stop=True):
    """initialize, launch/attach, a breakpoint, configurationDone, (stopped), disconnect."""
    c.request_ok("initialize", {"adapterID": "go", "linesStartAt1": True, "columnsStartAt1": True, "pathFormat": "path"})
    r = c.request(request, args, timeout=120)
    if not r.get("success"):
        return f"{request} failed: {r.get('message')} {json.dumps(r.get('body'))[:200]}"
    c.wait_event("initialized", timeout=60)
    line = code_line()
    c.request_ok("setBreakpoints", {"source": {"path": MAIN_GO}, "breakpoints": [{"line": line}]})
    c.request_ok("configurationDone", {})
    if expect_stop:
        ev = c.wait_event("stopped", timeout=60)
        frame = c.request_ok("stackTrace", {"threadId": ev["body"]["threadId"], "levels": 1})["body"]["stackFrames"][0]
        if frame["line"] != line:
            return f"stopped at line {frame['line']}, not {line}"
    c.request("disconnect", {"terminateDebuggee": True}, timeout=20)
    return None


def test_vscode_md(docs_args):
    a = docs_args
    sn = snippets()
    check(set(sn) == {"settings", "launch", "server", "ci", "nvim"}, f"docs/vscode.md snippets: {sorted(sn)}")
    env = dict(os.environ, DLVIDX_DLV=a.dlv, PATH=f"/usr/lib/go-1.27/bin:{os.environ.get('PATH', '')}",
               GOTOOLCHAIN="local", GOPROXY="off")
    os.environ.update(env)
    binary = corpus("example-go127-linux-amd64")
    binary122 = corpus("example-go122-linux-amd64")
    with tempfile.TemporaryDirectory() as d:
        dest = os.path.join(d, "dest")
        subprocess.run(["cmake", "--install", a.build, "--prefix", "/usr/local"], env=dict(env, DESTDIR=dest),
                       check=True, capture_output=True)
        dlvidx = os.path.join(dest, "usr/local/bin/dlvidx")

        # settings.json
        settings = json.loads(sn["settings"])
        link = dest + settings["go.alternateTools"]["dlv"]
        check(os.path.islink(link), f"settings: {settings['go.alternateTools']['dlv']} is installed")
        proc, host, port = start_adapter([link, "dap"])
        try:
            err = session(DAPClient.connect(host, port), "launch", {"mode": "exec", "program": binary})
            check(err is None, f"settings: a session through go.alternateTools' dlv ({err or 'stopped at the breakpoint'})")
        finally:
            stop_adapter(proc)

        # launch.json
        for cfg in json.loads(sn["launch"])["configurations"]:
            name = cfg["name"]
            args = {k: v for k, v in cfg.items() if k not in ("name", "type", "dlvFlags", "debugServer")}
            flags = cfg.get("dlvFlags", [])
            prog = binary122 if "1.22" in name else binary
            target = None
            if args.get("mode") == "exec":
                args["program"] = prog
            elif args.get("mode") == "debug":  # vscode-go runs dlv's build in the program's directory
                args["program"] = args["dlvCwd"] = EXAMPLE
            elif args.get("mode") == "test":
                args["program"] = args["dlvCwd"] = os.path.join(EXAMPLE, "work")
            elif cfg["request"] == "attach":
                target = subprocess.Popen(["sleep", "60"])
                args["processId"] = target.pid
            try:
                if "debugServer" in cfg:
                    port = free_port()
                    server = subprocess.Popen([dlvidx, "dap", f"--listen=127.0.0.1:{port}"] + flags,
                                              stdout=subprocess.PIPE, text=True)
                    line = server.stdout.readline()
                    c = DAPClient.connect("127.0.0.1", port)
                    err = session(c, cfg["request"], args)
                    server.wait(timeout=15)
                    check(err is None and line.startswith(f"DAP server listening at: 127.0.0.1:{port}"),
                          f"launch.json '{name}' (debugServer {port}): {err or 'ok'}")
                    continue
                proc, host, port = start_adapter([link, "dap"] + flags)
                try:
                    stop = cfg["request"] == "launch" and args.get("mode") != "test"
                    err = session(DAPClient.connect(host, port), cfg["request"], args, expect_stop=stop)
                    check(err is None, f"launch.json '{name}': {err or 'ok'}")
                finally:
                    stop_adapter(proc)
            finally:
                if target:
                    target.kill()
                    target.wait()

        # server: started by hand, then a client
        port = free_port()
        cmd = sn["server"].strip().replace("4711", str(port)).split()
        server = subprocess.Popen([dlvidx] + cmd[1:], stdout=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        err = session(DAPClient.connect("127.0.0.1", port), "launch", {"mode": "exec", "program": binary})
        server.wait(timeout=15)
        check(err is None and line.startswith("DAP server listening at:"), f"server snippet: {err or line.strip()}")

        # ci: on a copy of the example module
        mod = os.path.join(d, "mod")
        shutil.copytree(EXAMPLE, mod)
        ok = True
        for cmd in sn["ci"].strip().splitlines():
            if cmd.startswith("dlvidx "):  # the installed dlvidx, with a private cache
                cmd = f"{dlvidx} {cmd[len('dlvidx '):]} --cache-dir {d}/cache"
            r = subprocess.run(["bash", "-c", cmd], cwd=mod, capture_output=True, text=True, env=env)
            ok &= r.returncode == 0
            if r.returncode:
                print(r.stderr[-500:])
        check(ok and os.path.exists(os.path.join(mod, "bin/server")), "ci snippet: go build + dlvidx build")

        # nvim-dap: the adapter's command line
        lua = sn["nvim"]
        args = re.search(r"args = \{(.*?)\},\n", lua).group(1).strip().rstrip("}").strip()
        argv = [x.strip().strip("'") for x in args.split(",")]
        port = free_port()
        argv = [x.replace("${port}", str(port)) for x in argv]
        server = subprocess.Popen([dlvidx] + argv, stdout=subprocess.PIPE, text=True)
        line = server.stdout.readline()
        err = session(DAPClient.connect("127.0.0.1", port), "launch", {"mode": "exec", "program": binary})
        server.wait(timeout=15)
        check(err is None, f"nvim-dap snippet: dlvidx {' '.join(argv)}: {err or 'ok'}")
    print(f"{passed} passed, {len(failures)} failed")
    assert not failures, "failed: " + "; ".join(failures)

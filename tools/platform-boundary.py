#!/usr/bin/env python3
"""The platform boundary (README, "The platform boundary"): no OS-specific call outside the files
named for their OS. Scans the C++ sources of index/, preload/, dap-shim/ and tools/ with comments
removed, and fails naming every file:line where a Linux-only or macOS-only interface is used
outside *-linux.cc / *-darwin.cc. With --list, prints the files that hold platform code.

usage: platform-boundary.py [--list] [ROOT]
"""
import pathlib, re, sys

# Interfaces that exist on one OS only (or differ in type or meaning between them).
LINUX = r"prctl|PR_SET_|/proc/|pipe2|MADV_POPULATE|\bst_mtim\b|/dev/shm|addclosefrom_np|posix_fallocate|" \
        r"\bepoll_|\beventfd|\bsignalfd|\binotify_|\bmemfd_create|\bsendfile|\bgetauxval|\bO_PATH\b"
DARWIN = r"_NSGetExecutablePath|proc_pidpath|proc_listchildpids|\bkqueue\b|\bkevent\b|EVFILT_|" \
         r"POSIX_SPAWN_CLOEXEC_DEFAULT|POSIX_SPAWN_SETPGROUP|sysctlbyname|st_mtimespec|MINCORE_INCORE|" \
         r"__APPLE__|<libproc.h>|<mach-o/"
PATTERN = re.compile(f"(?:{LINUX})|(?:{DARWIN})")
DIRS = ["index", "preload", "dap-shim", "tools"]


def code_lines(text):
    """The lines of a C++ file with // and /* */ comments blanked (string literals are kept)."""
    text = re.sub(r"/\*.*?\*/", lambda m: re.sub(r"[^\n]", " ", m.group()), text, flags=re.S)
    for n, line in enumerate(text.split("\n"), 1):
        out, i, quote = [], 0, None
        while i < len(line):
            c = line[i]
            if quote:
                out.append(c)
                if c == "\\" and i + 1 < len(line):
                    out.append(line[i + 1])
                    i += 1
                elif c == quote:
                    quote = None
            elif c in "\"'":
                quote = c
                out.append(c)
            elif line.startswith("//", i):
                break
            else:
                out.append(c)
            i += 1
        yield n, "".join(out)


def main(argv):
    list_only = "--list" in argv
    args = [a for a in argv if a != "--list"]
    root = pathlib.Path(args[0] if args else pathlib.Path(__file__).resolve().parent.parent)
    bad, platform_files = [], []
    for d in DIRS:
        for f in sorted((root / d).rglob("*")):
            if f.suffix not in (".cc", ".h"):
                continue
            rel = f.relative_to(root).as_posix()
            is_platform = re.search(r"-(linux|darwin)\.cc$", rel) is not None
            hits = [(n, l.strip()) for n, l in code_lines(f.read_text()) if PATTERN.search(l)]
            if is_platform:
                platform_files.append(rel)
            elif hits:
                bad += [f"{rel}:{n}: {l}" for n, l in hits]
    if list_only:
        print("\n".join(platform_files))
        return 0
    if bad:
        print("OS-specific calls outside the platform files (*-linux.cc, *-darwin.cc):", file=sys.stderr)
        print("\n".join(bad), file=sys.stderr)
        return 1
    print(f"platform boundary: ok; platform code only in {', '.join(platform_files)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

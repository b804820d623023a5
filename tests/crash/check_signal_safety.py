#!/usr/bin/env python3
"""check_signal_safety.py: every function the fatal-signal handler can reach
must be async-signal-safe.

Usage: check_signal_safety.py [--no-externals] LIB.a [ROOT...]   (ROOT default: handler)

--no-externals: no external function at all may be reached (the spawn
module's vfork child, which must not even go through the PLT: a first call
there would run the lazy binder in the child; see src/spawn/spawn.c).

How: `objdump -dr` of each object in the crash module's static library gives,
per function, every symbol its code refers to (direct calls, calls through the
PLT, and addresses taken, e.g. the callback handed to _Unwind_Backtrace), both
from relocations and from the assembler-resolved `<name>` of local calls.
A breadth-first walk from the handler over that graph ends in a set of
external symbols. Each must be on POSIX's async-signal-safe list (signal-
safety(7), POSIX.1-2008 TC2 / 2016) or on the short list below of exceptions,
each with its reason. Anything else fails the test and is printed with the
chain of calls that reaches it. Data references are ignored; so are the
sanitizers' hooks (__asan_*, __ubsan_*) of the ASan build, which is not a
production build.
"""
import collections
import re
import subprocess
import sys

# POSIX async-signal-safe functions (signal-safety(7)), plus glibc's
# large-file aliases of the same calls.
POSIX_SAFE = set("""
_Exit _exit abort accept access aio_error aio_return aio_suspend alarm bind
cfgetispeed cfgetospeed cfsetispeed cfsetospeed chdir chmod chown clock_gettime
close connect creat dup dup2 execl execle execv execve faccessat fchdir fchmod
fchmodat fchown fchownat fcntl fdatasync fexecve ffs fork fstat fstatat fsync
ftruncate futimens getegid geteuid getgid getgroups getpeername getpgrp getpid
getppid getsockname getsockopt getuid htonl htons kill link linkat listen
longjmp lseek lstat memccpy memchr memcmp memcpy memmove memset mkdir mkdirat
mkfifo mkfifoat mknod mknodat ntohl ntohs open openat pause pipe poll
posix_trace_event pselect pthread_kill pthread_self pthread_sigmask raise read
readlink readlinkat recv recvfrom recvmsg rename renameat rmdir select sem_post
send sendmsg sendto setgid setpgid setsid setsockopt setuid shutdown sigaction
sigaddset sigdelset sigemptyset sigfillset sigismember siglongjmp signal
sigpause sigpending sigprocmask sigqueue sigset sigsuspend sleep sockatmark
socket socketpair stat stpcpy stpncpy strcat strchr strcmp strcpy strcspn
strlen strncat strncmp strncpy strnlen strpbrk strrchr strspn strstr strtok_r
symlink symlinkat tcdrain tcflow tcflush tcgetattr tcgetpgrp tcsendbreak
tcsetattr tcsetpgrp time timer_getoverrun timer_gettime timer_settime times
umask uname unlink unlinkat utime utimensat utimes wait waitpid wcpcpy wcpncpy
wcscat wcschr wcscmp wcscpy wcscspn wcslen wcsncat wcsncmp wcsncpy wcsnlen
wcspbrk wcsrchr wcsspn wcsstr wcstok write
open64 openat64 pread pread64 pwrite pwrite64 fstat64 lseek64
""".split())

# Not on the POSIX list, and why each is safe here (glibc 2.36, GCC 12).
EXCEPTIONS = {
    "syscall": "glibc's raw system-call entry: no lock, no buffer, errno only",
    "nanosleep": "a system-call wrapper (clock_nanosleep is on the list in later POSIX)",
    "__errno_location": "returns the thread's errno address (TLS of the initial-exec model in libc)",
    "__stack_chk_fail": "only on a smashed stack: it aborts the process (SIGABRT, default action)",
    "_Unwind_Backtrace": "libgcc_s, pre-loaded and warmed at install; see src/crash/unwind.c "
                          "and docs/crash.md (FDE lookup through _dl_find_object, lock-free; "
                          "the registered-frames path takes object_mutex only if some code "
                          "called __register_frame_info, e.g. a JIT)",
    "_Unwind_GetIPInfo": "reads the unwind context given to the callback: no lock, no allocation",
}

FUNC_REF = re.compile(r"<([^>+]+)(\+0x[0-9a-f]+)?>")
RELOC = re.compile(r"^\s+[0-9a-f]+:\s+(R_X86_64_\w+|R_AARCH64_\w+)\s+([^\s+-]+)([+-]0x[0-9a-f]+)?")
FUNC_HDR = re.compile(r"^([0-9a-f]+) <([^>]+)>:$")
OBJ_HDR = re.compile(r"^(\S+\.o):\s+file format")


def run(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def symbol_tables(lib):
    """Per object: local function names, {(section, offset): name}; global
    functions; and every data symbol the library defines."""
    locals_, bysect, globals_ = collections.defaultdict(set), collections.defaultdict(dict), {}
    data = set()
    obj = None
    for line in run("objdump", "-t", lib).splitlines():
        m = OBJ_HDR.match(line)
        if m:
            obj = m.group(1)
            continue
        parts = line.split()
        # value flags... section size name: "0000 l     F .text 006c reraise"
        if obj is None or len(parts) < 5 or "*UND*" in line:
            continue
        if " F " not in line:
            data.add(parts[-1])
            continue
        value, name, section = int(parts[0], 16), parts[-1], parts[-3]
        bysect[obj][(section, value)] = name
        if line[15] == "l":
            locals_[obj].add(name)
        else:
            globals_[name] = obj
    return locals_, bysect, globals_, data


def call_graph(lib, locals_, bysect, globals_):
    def key(obj, name):
        return obj + ":" + name if name in locals_[obj] else name

    graph = collections.defaultdict(set)
    obj = cur = None
    for line in run("objdump", "-dr", "--no-show-raw-insn", lib).splitlines():
        m = OBJ_HDR.match(line)
        if m:
            obj, cur = m.group(1), None
            continue
        m = FUNC_HDR.match(line)
        if m:
            cur = key(obj, m.group(2))
            continue
        if cur is None:
            continue
        m = RELOC.match(line)
        if m:
            sym, add = m.group(2), m.group(3)
            if sym.startswith("."):
                # Section-relative: a local function at that offset (PC32
                # addends are -4 from the target), or data.
                off = int(add, 16) if add else 0
                for cand in (off, off + 4):
                    name = bysect[obj].get((sym, cand))
                    if name:
                        graph[cur].add(key(obj, name))
                continue
            graph[cur].add(key(obj, sym) if sym in locals_[obj] else sym)
            continue
        if ":\t" in line:
            for ref in FUNC_REF.finditer(line):
                name = ref.group(1)
                if name in locals_[obj] or name in globals_:
                    k = key(obj, name)
                    if k != cur:
                        graph[cur].add(k)
    return graph


def main():
    args = sys.argv[1:]
    strict = bool(args) and args[0] == "--no-externals"
    if strict:
        args = args[1:]
    if not args:
        print(__doc__)
        return 2
    lib, roots = args[0], args[1:] or ["handler"]
    locals_, bysect, globals_, data = symbol_tables(lib)
    graph = call_graph(lib, locals_, bysect, globals_)
    defined = set(globals_) | {o + ":" + n for o, names in locals_.items() for n in names}

    start = []
    for r in roots:
        start += [d for d in defined if d == r or d.endswith(":" + r)]
    if not start:
        print(f"FAIL: root function(s) {roots} not found in {lib}")
        return 1
    parent = {s: None for s in start}
    queue = collections.deque(start)
    while queue:
        f = queue.popleft()
        for g in sorted(graph.get(f, ())):
            if g not in parent:
                parent[g] = f
                if g in defined:
                    queue.append(g)

    def chain(f):
        out = []
        while f is not None:
            out.append(f.split(":")[-1])
            f = parent[f]
        return " <- ".join(out)

    internal = sorted(f.split(":")[-1] for f in parent if f in defined)
    external = sorted(f for f in parent if f not in defined and f not in data)
    print(f"{len(internal)} functions of {lib} reachable from {', '.join(roots)}:")
    print("  " + " ".join(internal))
    bad = 0
    print(f"{len(external)} external symbols they call:")
    for f in external:
        if strict:
            print(f"  {f:24} NOT ALLOWED (no external call at all here), reached by: {chain(f)}")
            bad += 1
        elif f.startswith(("__asan_", "__ubsan_", "__sanitizer_", "__tsan_")):
            print(f"  {f:24} ignored (sanitizer instrumentation; not a production build)")
        elif f in POSIX_SAFE:
            print(f"  {f:24} POSIX async-signal-safe")
        elif f in EXCEPTIONS:
            print(f"  {f:24} exception: {EXCEPTIONS[f]}")
        else:
            print(f"  {f:24} NOT ASYNC-SIGNAL-SAFE, reached by: {chain(f)}")
            bad += 1
    print(f"{0 if bad else 1} passed, {1 if bad else 0} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

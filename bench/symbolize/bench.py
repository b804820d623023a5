# bench.py LIFELINE N: driven by run.sh (see there). Standard library only.
# lifeline runs twice: cold (--no-cache: the index built from the DWARF, the
# case the goal is about) and warm (the index cache an earlier run wrote).
import os, random, shutil, subprocess, sys, tempfile, time

lifeline, n = sys.argv[1], int(sys.argv[2])
work = tempfile.mkdtemp(prefix="ll-bench-sym.")

def func_symbols(path, dynamic):
    out = subprocess.run(["readelf", "-W", "--dyn-syms" if dynamic else "-s", path],
                         capture_output=True, text=True, check=True).stdout
    funcs = set()
    for line in out.splitlines():
        f = line.split()
        if len(f) >= 8 and f[3] == "FUNC" and f[6] != "UND":
            size = int(f[2], 16) if f[2].startswith("0x") else int(f[2])
            if size > 0:
                funcs.add((int(f[1], 16), size))
    return sorted(funcs)

def addresses(path, dynamic, count, seed):
    rnd = random.Random(seed)
    funcs = func_symbols(path, dynamic)
    lines = []
    for _ in range(count):
        addr, size = rnd.choice(funcs)
        lines.append("0x%x" % (addr + rnd.randrange(size)))
    name = os.path.join(work, os.path.basename(path) + ".addrs")
    with open(name, "w") as f:
        f.write("\n".join(lines) + "\n")
    return name, len(funcs)

def gen_big():
    """200 compile units x 25 functions, each inlining static helpers."""
    src = os.path.join(work, "big")
    os.makedirs(src)
    with open(os.path.join(src, "h.h"), "w") as f:
        f.write("static inline unsigned mixh(unsigned x) { x ^= x >> 13; x *= 0x5bd1e995u; return x ^ (x >> 15); }\n"
                "__attribute__((always_inline)) static inline unsigned rot(unsigned x, unsigned r)"
                " { return (x << (r & 31)) | (x >> ((32 - r) & 31)); }\n")
    files = []
    for u in range(200):
        body = ['#include "h.h"']
        body.append("static inline unsigned step%d(unsigned a, unsigned b) { if (b & 1) return rot(a ^ mixh(b), %d); return mixh(a + b * %du); }" % (u, u % 31 + 1, 2654435761 % (u + 7)))
        for k in range(25):
            body.append("__attribute__((noinline)) unsigned f_%d_%d(const unsigned *v, unsigned n) {"
                        " unsigned s = %du; for (unsigned i = 0; i < n; i++) { s = step%d(s, v[i]);"
                        " if (s %% %d == 0) s += mixh(v[i] ^ %du); } return rot(s, %d); }" % (u, k, k + 1, u, k + 3, u * 31 + k, k))
        name = os.path.join(src, "u%d.c" % u)
        with open(name, "w") as f:
            f.write("\n".join(body) + "\n")
        files.append(name)
    with open(os.path.join(src, "main.c"), "w") as f:
        f.write("unsigned f_0_0(const unsigned *v, unsigned n);\nint main(void) { unsigned v[4] = {1, 2, 3, 4}; return (int)f_0_0(v, 4) & 1; }\n")
    files.append(os.path.join(src, "main.c"))
    objs = []
    procs = []
    for c in files:
        o = c[:-2] + ".o"
        objs.append(o)
        procs.append(subprocess.Popen(["gcc", "-g", "-O2", "-c", "-o", o, c]))
        if len(procs) >= 2:
            procs.pop(0).wait()
    for p in procs:
        p.wait()
    exe = os.path.join(work, "bigprog")
    subprocess.run(["gcc", "-o", exe] + objs, check=True)
    return exe

# Each tool is started by a small runner process, so that its peak RSS
# (ru_maxrss, which Linux carries over from the process image before exec)
# is not this script's.
RUNNER = r"""
import os, sys, time
fin = os.open(sys.argv[1], os.O_RDONLY)
fout = os.open(os.devnull, os.O_WRONLY)
t0 = time.monotonic()
pid = os.fork()
if pid == 0:
    os.dup2(fin, 0); os.dup2(fout, 1); os.dup2(fout, 2)
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, ru = os.wait4(pid, 0)
print(time.monotonic() - t0, ru.ru_maxrss, status, ru.ru_utime + ru.ru_stime)
"""

CACHE = os.path.join(work, "index-cache")
os.makedirs(CACHE, mode=0o700)
ENV = dict(os.environ, LIFELINE_CACHE_DIR=CACHE)

def run(cmd, infile):
    out = subprocess.run([sys.executable, "-c", RUNNER, infile] + cmd, env=ENV,
                         capture_output=True, text=True, check=True).stdout.split()
    return float(out[0]), int(out[1]) / 1024.0, int(out[2]), float(out[3])

def basename_loc(line):
    """'dir/file.c:12:3 (discriminator 2)' -> 'file.c:12'. No location is
    '??:?' in addr2line's format and '??:0' in llvm-symbolizer's: one answer."""
    line = line.split(" (discriminator")[0]
    base = line.rsplit("/", 1)[-1]
    parts = base.split(":")
    loc = ":".join(parts[:2])
    return "??:0" if loc == "??:?" else loc

def chains_addr2line_style(cmd, infile):
    out = subprocess.run(cmd, stdin=open(infile), capture_output=True, text=True).stdout.splitlines()
    items, cur = [], None
    for i, line in enumerate(out):
        if line.startswith("0x") and ":" not in line:
            cur = []
            items.append(cur)
        elif cur is not None:
            cur.append(basename_loc(line) if len(cur) % 2 else line)
    return items

def chains_llvm(path, infile):
    cmd = ["llvm-symbolizer", "--obj=" + path, "--functions=linkage", "--inlines"]
    out = subprocess.run(cmd, stdin=open(infile), capture_output=True, text=True).stdout
    items = []
    for block in out.split("\n\n"):
        lines = block.strip("\n").splitlines()
        if lines:
            items.append([basename_loc(l) if i % 2 else l for i, l in enumerate(lines)])
    return items

def outputs_agree(path, infile):
    """Addresses whose answer equals the peers': llvm-symbolizer is the
    reference (binutils 2.40 misnames the file of some DWARF 5 rows, where
    llvm-symbolizer, eu-addr2line and gdb agree with lifeline)."""
    ours = chains_addr2line_style([lifeline, "symbolize", "--no-cache", "--addr2line", "--addresses", "--exe", path], infile)
    res = []
    if shutil.which("llvm-symbolizer"):
        llvm = chains_llvm(path, infile)
        same = sum(1 for x, y in zip(ours, llvm) if x[1::2] == y[1::2])
        names = sum(1 for x, y in zip(ours, llvm) if x == y)
        res.append("llvm-symbolizer (the reference: file basename:line of every frame) %d of %d%s"
                   % (same, len(llvm), "" if same == len(llvm) else " NOT ALL"))
        # The outermost frame's name: llvm-symbolizer prints the symbol-table
        # alias (flockfile), addr2line and lifeline the DWARF or linkage name
        # (__flockfile); lifeline's names follow addr2line's (tests pin them).
        res.append("with function names too %d of %d" % (names, len(llvm)))
    a2l = chains_addr2line_style(["addr2line", "-a", "-f", "-i", "-e", path], infile)
    res.append("addr2line (function + file basename:line) %d of %d" % (sum(1 for x, y in zip(ours, a2l) if x == y), len(a2l)))
    return "; ".join(res)

def bench(label, path, infile, nfuncs):
    print("\n== %s: %s (%d addresses in %d functions)" % (label, path, n, nfuncs))
    tools = [
        # Cold: every run builds the index from the DWARF (what the goal is about).
        ("lifeline symbolize", [lifeline, "symbolize", "--no-cache", "--addr2line", "--exe", path]),
        # Warm: the index written by an earlier run (primed below) is read back.
        ("lifeline, warm cache", [lifeline, "symbolize", "--addr2line", "--exe", path]),
        ("addr2line -f -i", ["addr2line", "-f", "-i", "-e", path]),
        ("llvm-symbolizer", ["llvm-symbolizer", "--obj=" + path, "--functions=linkage", "--inlines"]),
        ("eu-addr2line -f -i", ["eu-addr2line", "-f", "-i", "-e", path]),
    ]
    results = {}
    run(tools[1][1], infile)  # primes the index cache for the warm runs
    for rnd in range(3):
        for name, cmd in tools:
            if not shutil.which(cmd[0]):
                continue
            if name.startswith("eu-") and rnd > 0:
                continue  # 10x slower: once is enough
            wall, rss, status, cpu = run(cmd, infile)
            if status != 0 and name.startswith("lifeline"):
                print("  note: %s exit status %d" % (name, os.waitstatus_to_exitcode(status)))
            results.setdefault(name, []).append((wall, rss, cpu))
    def median(name, i):
        vals = sorted(r[i] for r in results[name])
        return vals[len(vals) // 2]
    ours_wall, ours_cpu = median("lifeline symbolize", 0), median("lifeline symbolize", 2)
    # "vs ours" is against the cold lifeline run. CPU time (user + system) is shown too: on a shared, loaded machine the
    # wall time of a 0.1 s run is mostly waiting for a core.
    print("  %-22s %9s %9s %9s %9s %10s" % ("tool", "wall", "vs ours", "CPU", "vs ours", "peak RSS"))
    for name, _ in tools:
        if name not in results:
            print("  %-22s not installed" % name)
            continue
        wall, cpu = median(name, 0), median(name, 2)
        print("  %-22s %8.3fs %8.2fx %8.3fs %8.2fx %7.1f MiB" % (
            name, wall, wall / ours_wall, cpu, cpu / max(ours_cpu, 1e-3), median(name, 1)))
    for peer in ("addr2line -f -i", "llvm-symbolizer"):
        if peer in results:
            w, c = median(peer, 0) / ours_wall, median(peer, 2) / max(ours_cpu, 1e-3)
            print("  cold lifeline vs %s: wall %.1fx, CPU %.1fx (goal >= 6x): %s" % (
                peer, w, c, "met" if min(w, c) >= 6 else "NOT met"))
    if "addr2line -f -i" in results:
        grow = median("lifeline symbolize", 1) / median("addr2line -f -i", 1) - 1
        print("  cold lifeline peak RSS vs addr2line: %+.0f%% (goal <= +25%%): %s" % (
            100 * grow, "met" if grow <= 0.25 else "NOT met"))
    warm = median("lifeline, warm cache", 0)
    peers = ["%s %.1fx" % (name, median(name, 0) / warm) for name, _ in tools[2:] if name in results]
    print("  warm cache vs peers (wall): " + ", ".join(peers))
    print("  same answers: " + outputs_agree(path, infile))

try:
    libc = os.path.realpath("/lib/x86_64-linux-gnu/libc.so.6")
    infile, nf = addresses(libc, True, n, 1)
    load = os.getloadavg()
    print("symbolize benchmark: %d addresses, one batch, inline chains on; load average %.1f %.1f %.1f on %d CPUs"
          % (n, load[0], load[1], load[2], os.cpu_count()))
    bench("glibc libc.so.6 (libc6-dbg DWARF by build-id)", libc, infile, nf)
    big = gen_big()
    infile, nf = addresses(big, False, n, 2)
    bench("generated program, 201 CUs, -g -O2", big, infile, nf)
    load = os.getloadavg()
    print("\nload average at the end: %.1f %.1f %.1f" % load)
finally:
    shutil.rmtree(work, ignore_errors=True)

"""Weir's test runner: builds (normal and ASan+UBSan), runs every unit test
in both builds and every integration test, and ends with the one line CI
reads: 'N passed, N failed'. Test programs speak TAP; a program that exits
non-zero without a 'not ok' line, or prints no test at all, counts as one
failure, so a crash can never pass for success.

usage: /usr/bin/python3 tests/run.py [--unit-only] [--only SUBSTRING]"""
import glob
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
BUILD = os.path.join(ROOT, "build")
BUILD_SAN = os.path.join(ROOT, "build-san")
INTEGRATION_TIMEOUT = 600
passed = failed = 0


def sh(cmd, **kw):
    print("+ " + " ".join(cmd), flush=True)
    return subprocess.run(cmd, cwd=ROOT, **kw)


def build(dirname, *opts):
    if not os.path.exists(os.path.join(dirname, "build.ninja")):
        if sh(["meson", "setup", dirname, *opts]).returncode:
            return False
    return sh(["ninja", "-C", dirname]).returncode == 0


def run_tap(label, cmd, timeout, env=None):
    """Runs one TAP program, echoes its output, adds its counts."""
    global passed, failed
    t0 = time.time()
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, env=env)
        out, rc = p.stdout + p.stderr, p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        out += "\n# TIMEOUT after %ds" % timeout
        rc = -1
    ok = len(re.findall(r"^ok \d+", out, re.M))
    bad = len(re.findall(r"^not ok \d+", out, re.M))
    if rc != 0 and bad == 0:
        bad = 1  # crashed, timed out or failed outside any case
    if ok + bad == 0:
        bad = 1  # ran no test: that is not a pass
    passed += ok
    failed += bad
    print("== %s: %d passed, %d failed (%.1fs)" % (label, ok, bad, time.time() - t0), flush=True)
    if bad:
        print(out[-6000:], flush=True)
    else:
        for line in out.splitlines():
            if line.startswith(("not ok", "# TIMEOUT")):
                print(line)


def size_check():
    """tools/check_size.py: no function in dataplane/ over 80 lines, no .c
    file in dataplane/http/ over 700. One counted case."""
    global passed, failed
    r = subprocess.run([sys.executable, "tools/check_size.py"], cwd=ROOT, capture_output=True,
                       text=True)
    print("== size: %s" % ("ok" if r.returncode == 0 else "over the limits"), flush=True)
    if r.returncode:
        print(r.stdout + r.stderr, flush=True)
        failed += 1
    else:
        passed += 1


def format_check():
    """Every C file as .clang-format wants it: one TAP case per file that
    clang-format would change, named, so a failure says where to look."""
    global passed, failed
    files = subprocess.run(["git", "ls-files", "*.c", "*.h"], cwd=ROOT, capture_output=True,
                           text=True).stdout.split()
    if not files:  # not a git checkout: fall back to the tree itself
        files = [os.path.relpath(f, ROOT) for f in glob.glob(os.path.join(ROOT, "**", "*.[ch]"),
                                                             recursive=True)
                 if "/build" not in f]
    bad = []
    for f in files:
        r = subprocess.run(["clang-format", "--dry-run", "-Werror", f], cwd=ROOT,
                           capture_output=True, text=True)
        if r.returncode:
            bad.append(f)
    print("== format: %d files, %d not formatted%s" % (len(files), len(bad),
          (": " + " ".join(bad)) if bad else ""), flush=True)
    if bad:
        print("   fix with: clang-format -i " + " ".join(bad), flush=True)
    if files and not bad:
        passed += 1
    else:
        failed += 1


def unit_tests(builddir, tag, only):
    tests = json.loads(subprocess.run(["meson", "introspect", "--tests", builddir], cwd=ROOT,
                                      capture_output=True, text=True).stdout or "[]")
    for t in tests:
        if "unit" not in t["suite"] and not any(s.endswith(":unit") for s in t["suite"]):
            continue
        if only and only not in t["name"]:
            continue
        env = dict(os.environ, **t.get("env", {}))
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1")
        run_tap("%s %s" % (tag, t["name"]), t["cmd"], t.get("timeout") or 120, env)


def integration_tests(only):
    env = dict(os.environ, WEIR_BUILD=BUILD)
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "integration", "test_*"))):
        name = os.path.basename(path)
        if only and only not in name:
            continue
        if name.endswith(".py"):
            cmd = ["/usr/bin/python3", path]
        elif name.endswith(".sh"):
            cmd = ["bash", path]
        else:
            continue
        run_tap("integration " + name, cmd, INTEGRATION_TIMEOUT, env)


def main():
    global failed
    args = sys.argv[1:]
    only = args[args.index("--only") + 1] if "--only" in args else None
    if not only:
        format_check()
        size_check()
    if not build(BUILD):
        failed += 1
    elif not build(BUILD_SAN, "-Dsanitize=true", "-Dbuildtype=debug"):
        failed += 1
    else:
        unit_tests(BUILD, "unit", only)
        unit_tests(BUILD_SAN, "unit+asan", only)
        if "--unit-only" not in args:
            integration_tests(only)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

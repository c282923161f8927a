#!/usr/bin/env python3
"""Compare `dockfix parse FILE` with Docker's own parser (BuildKit) over a corpus.

Usage:
  scripts/compare_model.py --corpus DIR --bin DOCKFIX [--buildkit-parse PATH]
                           [--cache FILE] [--jobs N] [--timeout SEC] [--max-report N]

For every file of DIR (recursively, dotfiles skipped -- the same walk as
buildkit-parse --dir) that BuildKit parses ok, the list of instructions
(keyword, start_line, end_line) printed by `dockfix parse FILE` must equal
BuildKit's (cmd upper-cased (ASCII), start_line, end_line). Files BuildKit
rejects are skipped, but `dockfix parse` still runs on them: a panic (exit
101) or a death by signal is a failure anywhere.

BuildKit's output comes from `buildkit-parse --dir DIR --full` (JSON lines).
With --cache FILE it is read from FILE when FILE exists and covers exactly
the corpus' files, else it is (re)generated into FILE.

Prints one short block per mismatching file (first differing instruction),
then `model: N/M files match Docker's parser`. Exit 0 when every file
matches and nothing panicked, 1 otherwise, 2 on a usage/setup error.
Python 3.11 standard library only.
"""
import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
import tempfile


def walk(root):
    """Same order and filter as buildkit_parse.py's _walk."""
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fn in sorted(filenames):
            if not fn.startswith("."):
                out.append(os.path.relpath(os.path.join(dirpath, fn), root).replace(os.sep, "/"))
    return out


def ascii_upper(s):
    return "".join(c.upper() if c.isascii() else c for c in s)


def load_cache(path, expected):
    try:
        rows = {}
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if line.strip():
                    r = json.loads(line)
                    rows[r["file"]] = r
    except (OSError, ValueError, KeyError):
        return None
    if set(rows) != set(expected) or any("instructions" not in r for r in rows.values()):
        return None
    return rows


def run_buildkit(buildkit_parse, corpus, cache_path):
    tmp = cache_path + ".part"
    with open(tmp, "w", encoding="utf-8") as out:
        p = subprocess.run([buildkit_parse, "--dir", corpus, "--full"], stdout=out,
                           stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    # buildkit-parse exits 1 when some file does not parse: that is expected.
    if p.returncode not in (0, 1):
        sys.stderr.write(p.stderr)
        raise SystemExit("compare_model: buildkit-parse --dir failed (exit %d)" % p.returncode)
    os.replace(tmp, cache_path)


def run_dockfix(binary, path, timeout):
    try:
        p = subprocess.run([binary, "parse", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"rc": "timeout", "stdout": b"", "stderr": b""}
    return {"rc": p.returncode, "stdout": p.stdout, "stderr": p.stderr}


def is_crash(rc):
    return rc == "timeout" or rc == 101 or (isinstance(rc, int) and rc < 0)


def describe_rc(rc):
    if rc == "timeout":
        return "timed out"
    if rc == 101:
        return "exit 101 (panic)"
    if isinstance(rc, int) and rc < 0:
        return "killed by signal %d" % -rc
    return "exit %d" % rc


def dockfix_model(res):
    """-> (list of (keyword, start, end), warnings) or raises ValueError."""
    try:
        data = json.loads(res["stdout"].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError("stdout is not JSON: %s" % e)
    if not isinstance(data, list):
        raise ValueError("stdout is not a JSON array")
    model, warnings = [], set()
    for k, item in enumerate(data):
        if not isinstance(item, dict):
            raise ValueError("element %d is not an object" % k)
        kw, s, e = item.get("keyword"), item.get("start_line"), item.get("end_line")
        if not isinstance(kw, str) or type(s) is not int or type(e) is not int:
            raise ValueError("element %d lacks keyword/start_line/end_line of the right types: %s"
                             % (k, json.dumps(item)[:200]))
        for key in ("stage", "opaque"):
            if key not in item:
                warnings.add("no '%s' field" % key)
        model.append((kw, s, e))
    return model, warnings


def source_line(path, n):
    try:
        with open(path, "rb") as fh:
            lines = fh.read().decode("utf-8", errors="replace").splitlines()
        return lines[n - 1] if 1 <= n <= len(lines) else "<no line %d>" % n
    except OSError:
        return "<unreadable>"


def fmt_ins(t):
    return "%s %d-%d" % t if t else "(none)"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--bin", required=True, help="dockfix binary")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--buildkit-parse", default=os.environ.get(
        "BUILDKIT_PARSE", os.path.join(here, "..", "..", "shared", "tools", "buildkit-parse")))
    ap.add_argument("--cache", help="BuildKit JSON lines cache file (reused when it matches the corpus)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per dockfix call")
    ap.add_argument("--max-report", type=int, default=50, help="print at most N mismatch blocks")
    a = ap.parse_args()

    corpus = os.path.abspath(a.corpus)
    binary = os.path.abspath(a.bin)
    if not os.path.isdir(corpus):
        print("compare_model: no corpus directory %s" % corpus, file=sys.stderr)
        return 2
    if not (os.path.isfile(binary) and os.access(binary, os.X_OK)):
        print("compare_model: dockfix binary %s is missing or not executable" % binary, file=sys.stderr)
        return 2
    files = walk(corpus)
    if not files:
        print("compare_model: corpus %s has no files" % corpus, file=sys.stderr)
        return 2

    if a.cache:
        return check(a, corpus, binary, files, a.cache)
    with tempfile.TemporaryDirectory(prefix="dockfix-model-") as tmpdir:
        return check(a, corpus, binary, files, os.path.join(tmpdir, "buildkit.jsonl"))


def check(a, corpus, binary, files, cache):
    bk = load_cache(cache, files)
    if bk is None:
        if not os.path.exists(a.buildkit_parse):
            print("compare_model: buildkit-parse not found at %s (set BUILDKIT_PARSE)" % a.buildkit_parse,
                  file=sys.stderr)
            return 2
        print("model: running BuildKit parser over %d files -> %s" % (len(files), cache), flush=True)
        run_buildkit(a.buildkit_parse, corpus, cache)
        bk = load_cache(cache, files)
        if bk is None:
            print("compare_model: buildkit-parse output in %s does not cover the corpus" % cache, file=sys.stderr)
            return 2
    else:
        print("model: reusing BuildKit parse %s" % cache, flush=True)

    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as ex:
        results = dict(zip(files, ex.map(lambda rel: run_dockfix(binary, os.path.join(corpus, rel), a.timeout),
                                         files)))

    matched, considered, reported = 0, 0, 0
    mismatches, crashes, rejected, rejected_dockfix_ok = [], [], [], []
    warn_files = {}

    def report(lines):
        nonlocal reported
        reported += 1
        if reported <= a.max_report:
            print("\n".join(lines), flush=True)

    for rel in files:
        r, res = bk[rel], results[rel]
        path = os.path.join(corpus, rel)
        if is_crash(res["rc"]):
            crashes.append(rel)
            err = res["stderr"].decode("utf-8", "replace").strip().splitlines()
            report(["CRASH %s: dockfix parse %s" % (rel, describe_rc(res["rc"]))]
                   + ["    " + l for l in err[-5:]])
        if not r["ok"]:
            rejected.append(rel)
            if res["rc"] == 0:
                rejected_dockfix_ok.append(rel)
            continue
        considered += 1
        if is_crash(res["rc"]):
            mismatches.append(rel)
            continue
        if res["rc"] != 0:
            mismatches.append(rel)
            err = res["stderr"].decode("utf-8", "replace").strip().splitlines()
            report(["MISMATCH %s: dockfix parse %s, BuildKit parses it" % (rel, describe_rc(res["rc"]))]
                   + ["    " + l for l in err[-3:]])
            continue
        try:
            mine, warnings = dockfix_model(res)
        except ValueError as e:
            mismatches.append(rel)
            report(["MISMATCH %s: bad dockfix parse output: %s" % (rel, e)])
            continue
        if warnings:
            warn_files[rel] = warnings
        theirs = [(ascii_upper(i["cmd"]), i["start_line"], i["end_line"]) for i in r["instructions"]]
        if mine == theirs:
            matched += 1
            continue
        mismatches.append(rel)
        k = next((k for k, (x, y) in enumerate(zip(mine, theirs)) if x != y), min(len(mine), len(theirs)))
        t = theirs[k] if k < len(theirs) else None
        m = mine[k] if k < len(mine) else None
        lines = ["MISMATCH %s: instruction #%d differs (Docker has %d, dockfix %d)"
                 % (rel, k + 1, len(theirs), len(mine)),
                 "    docker : %s" % fmt_ins(t),
                 "    dockfix: %s" % fmt_ins(m)]
        for n in sorted({x[1] for x in (t, m) if x}):
            lines.append("    line %d: %s" % (n, source_line(path, n)[:120]))
        report(lines)

    if reported > a.max_report:
        print("... %d more problem reports not shown" % (reported - a.max_report))
    if warn_files:
        sample = sorted(warn_files)[0]
        print("model: warning: %d files' dockfix output lacks fields (%s, e.g. %s)"
              % (len(warn_files), ", ".join(sorted(set().union(*warn_files.values()))), sample))
    if rejected:
        print("model: %d files rejected by BuildKit, skipped (dockfix parse exits 0 on %d of them)%s"
              % (len(rejected), len(rejected_dockfix_ok),
                 (": " + ", ".join(rejected)) if len(rejected) <= 5 else ""))
    if crashes:
        print("model: %d dockfix parse crashes (panic/signal/timeout): %s" % (len(crashes), ", ".join(crashes[:20])))
    print("model: %d/%d files match Docker's parser" % (matched, considered))
    return 0 if (matched == considered and not crashes) else 1


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Verdicts for scripts/corpus-check (fix check and the optional DL3020 report).

  check_fix.py verdict --work DIR --allowed-added "RUN USER" --allowed-conversions "ADD:COPY"
               [--write-ok "0 2"] [--fail-declined-modified 1]
      reads (all made by corpus-check):
        DIR/files.txt         relative paths, one a line
        DIR/before/, DIR/after/   the corpus before / after `dockfix fix --write` per file
        DIR/write.tsv         "RC<TAB>REL" of `dockfix fix --write` (RC as the shell saw it,
                              through `timeout`: 124 = timed out, 128+N = signal N)
        DIR/check.tsv         "RC<TAB>REL" of the second run, `dockfix fix --check`
        DIR/logs/write/REL.err  stderr of the first run (for decline reasons)
        DIR/compare.jsonl     buildkit-parse --compare-dirs before after --diff
      writes DIR/changed.txt (files whose bytes changed), prints counts, exit 0/1.

  check_fix.py dl3020 --work DIR
      reads DIR/hadolint/{before,after}/REL.json (hadolint -f json) for the files of
      DIR/changed.txt and lists the files where DL3020 still fires after the fix.
      Informational: always exit 0.
Python 3.11 standard library only.
"""
import argparse
import collections
import json
import os
import re
import sys

MAX_LIST = 25


def read_tsv(path):
    out = {}
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            line = line.rstrip("\n")
            if line:
                rc, rel = line.split("\t", 1)
                out[rel] = int(rc)
    return out


def all_files(root):
    out = set()
    for dirpath, _, filenames in os.walk(root):
        for fn in filenames:
            out.add(os.path.relpath(os.path.join(dirpath, fn), root).replace(os.sep, "/"))
    return out


def same_bytes(a, b):
    try:
        with open(a, "rb") as fa, open(b, "rb") as fb:
            return fa.read() == fb.read()
    except OSError:
        return False


def rc_kind(rc):
    if rc == 101 or (rc > 128 and rc != 255) or rc < 0:
        return "panic"
    if rc == 124:
        return "timeout"
    return None


def describe(rc):
    if rc == 101:
        return "exit 101 (panic)"
    if rc == 124:
        return "timed out"
    if rc > 128:
        return "signal %d" % (rc - 128)
    return "exit %d" % rc


def show(title, items, fmt=str):
    if not items:
        return
    print("  %s (%d):" % (title, len(items)))
    for it in items[:MAX_LIST]:
        print("    " + fmt(it))
    if len(items) > MAX_LIST:
        print("    ... %d more" % (len(items) - MAX_LIST))


def decline_reason(work, rel):
    p = os.path.join(work, "logs", "write", rel + ".err")
    try:
        with open(p, encoding="utf-8", errors="replace") as fh:
            lines = [l.strip() for l in fh if l.strip()]
    except OSError:
        return "(no stderr log)"
    if not lines:
        return "(empty stderr)"
    msg = lines[-1] if len(lines) == 1 else " | ".join(lines[:2])
    msg = msg.replace(os.path.join(work, "after", rel), "FILE").replace(rel, "FILE")
    return re.sub(r"\b(line|at) \d+", r"\1 N", msg)[:160]


def apply_conversions(lost, added, conversions):
    lost, added = collections.Counter(lost), collections.Counter(added)
    for conv in conversions:
        frm, _, to = conv.partition(":")
        for a, b in ((frm, to), ("ONBUILD " + frm, "ONBUILD " + to)):
            n = min(lost[a], added[b])
            lost[a] -= n
            added[b] -= n
    return +lost, +added


def _kind(original):
    words = (original or "").split()
    if not words:
        return ""
    k = words[0].upper()
    if k == "ONBUILD" and len(words) > 1:
        k += " " + words[1].upper()
    return k


def first_diff(row, kinds=()):
    """The first diff op touching one of `kinds` (else the first op), one line."""
    ops = row.get("diff") or []
    if not ops:
        return ""
    op = next((o for o in ops if any(_kind(x["original"]) in kinds for x in o["before"] + o["after"])), ops[0])
    def pick(xs):
        return next((x for x in xs if _kind(x["original"]) in kinds), xs[0]) if xs else None
    b, a = pick(op["before"]), pick(op["after"])

    def one(x):
        return "L%d %r" % (x["line"], (x["original"] or "").splitlines()[0][:70] if x["original"] else "")
    s = "%s: " % op["op"]
    if b:
        s += "before " + one(b)
    if a:
        s += (" -> " if b else "") + "after " + one(a)
    return s


# multi-stage splits a stage in two: the new runtime stage repeats runtime settings of the
# original (the instructions declared before the build), copies artifacts out of the builder
# with COPY --from, and may set the virtualenv's PATH. With --allow-split, a file that gained
# exactly one FROM may gain instructions of these kinds, each checked by its text.
SPLIT_REPEATABLE = {"WORKDIR", "ENV", "ARG", "LABEL", "USER", "EXPOSE", "STOPSIGNAL", "VOLUME", "SHELL",
                    "HEALTHCHECK", "CMD", "ENTRYPOINT", "MAINTAINER", "COPY"}
SPLIT_NEW_TEXTS = {'ENV PATH="/opt/venv/bin:$PATH"'}


def _normalized(text):
    """An instruction's text without continuations, --chown flags (other transforms add them)
    and repeated blanks, for comparing a repeated instruction with its original."""
    text = re.sub(r"\\[ \t]*\n", " ", text or "")
    text = re.sub(r"\s--chown=\S+", "", text)
    return " ".join(text.split())


def split_additions(row, before_text):
    """Counter of the instructions a split added that it may add: the runtime FROM, COPY
    --from, the virtualenv PATH, and verbatim repeats of instructions of the original file."""
    original = _normalized(before_text)
    ok = collections.Counter()
    for op in row.get("diff") or []:
        before_kinds = collections.Counter(_kind(x["original"]) for x in op["before"])
        surplus = collections.Counter(_kind(x["original"]) for x in op["after"]) - before_kinds
        for x in op["after"]:
            k = _kind(x["original"])
            if surplus[k] <= 0:
                continue
            text = _normalized(x["original"])
            copies_from = k == "COPY" and re.search(r"(^|\s)--from=\S", text)
            repeated = k in SPLIT_REPEATABLE and text in original
            new_text = " ".join([k] + text.split()[1:]) in SPLIT_NEW_TEXTS
            if k == "FROM" or copies_from or repeated or new_text:
                ok[k] += 1
                surplus[k] -= 1
    return ok


def verdict(a):
    work = a.work
    before, after = os.path.join(work, "before"), os.path.join(work, "after")
    with open(os.path.join(work, "files.txt"), encoding="utf-8") as fh:
        files = [l.rstrip("\n") for l in fh if l.strip()]
    w = read_tsv(os.path.join(work, "write.tsv"))
    c = read_tsv(os.path.join(work, "check.tsv"))
    write_ok = {int(x) for x in a.write_ok.split()}
    allowed_added = set(x.strip() for x in re.split(r"[,\n]", a.allowed_added.replace(" ", ",")) if x.strip())
    # ONBUILD-wrapped kinds are keyed "ONBUILD RUN": accept "ONBUILD_RUN" spelling in the variable too
    allowed_added = {x.replace("_", " ") if x.startswith("ONBUILD_") else x for x in allowed_added}
    conversions = [x for x in a.allowed_conversions.replace(",", " ").split() if ":" in x]
    allowed_lost = set(a.allowed_lost.replace(",", " ").split())

    changed, unchanged, declined = [], [], []
    panics, timeouts, unexpected, declined_modified, non_idem, notes = [], [], [], [], [], []
    missing_runs = []
    for rel in files:
        if rel not in w or rel not in c:
            missing_runs.append(rel)
            continue
        wr, cr = w[rel], c[rel]
        for phase, rc in (("fix --write", wr), ("fix --check", cr)):
            k = rc_kind(rc)
            if k == "panic":
                panics.append((rel, phase, describe(rc)))
            elif k == "timeout":
                timeouts.append((rel, phase))
        differs = not same_bytes(os.path.join(before, rel), os.path.join(after, rel))
        if wr == 0:
            (changed if differs else unchanged).append(rel)
            if cr != 0 and rc_kind(cr) is None:
                non_idem.append((rel, cr))
        elif wr == 2:
            declined.append(rel)
            if differs:
                declined_modified.append(rel)
            if cr not in (1, 2) and rc_kind(cr) is None:
                notes.append("%s: --write exit 2 but --check %s" % (rel, describe(cr)))
        elif rc_kind(wr) is None and wr not in write_ok:
            unexpected.append((rel, "fix --write", wr))
        elif rc_kind(wr) is None:
            (changed if differs else unchanged).append(rel)
        if wr != 0 and rc_kind(cr) is None and cr not in (0, 1, 2):
            unexpected.append((rel, "fix --check", cr))
    with open(os.path.join(work, "changed.txt"), "w", encoding="utf-8") as fh:
        fh.writelines(r + "\n" for r in changed)

    stray = sorted(all_files(after) - all_files(before))
    vanished = sorted(all_files(before) - all_files(after))

    rows = {}
    with open(os.path.join(work, "compare.jsonl"), encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                r = json.loads(line)
                rows[r["file"]] = r
    regressions, kind_violations, fixed_parse, splits = [], [], [], []
    for rel in files:
        r = rows.get(rel)
        if r is None:
            regressions.append((rel, "no buildkit-parse --compare-dirs result"))
            continue
        b, af = r["before"], r["after"]
        if b["ok"] and not af["ok"]:
            regressions.append((rel, "now rejected: %s (line %s)" % (af.get("error"), af.get("error_line"))))
            continue
        if not b["ok"] and af["ok"]:
            fixed_parse.append(rel)
        if not r["both_parse"]:
            continue
        lost, added = apply_conversions(r.get("instruction_kinds_lost", {}),
                                        r.get("instruction_kinds_added", {}), conversions)
        if a.allow_split and added.get("FROM", 0) == 1:
            with open(os.path.join(before, rel), encoding="utf-8", errors="replace") as fh:
                justified = split_additions(r, fh.read())
            justified["FROM"] = min(justified["FROM"], 1)
            added = added - justified
            if justified:
                splits.append(rel)
        bad_added = {k: v for k, v in added.items() if k not in allowed_added}
        lost = {k: v for k, v in lost.items() if k not in allowed_lost}
        if lost or bad_added:
            why = []
            if lost:
                why.append("lost %s" % dict(lost))
            if bad_added:
                why.append("added %s" % bad_added)
            kind_violations.append((rel, "; ".join(why), first_diff(r, set(lost) | set(bad_added))))

    n = len(files)
    print("fix: %d files: %d changed, %d unchanged, %d declined (exit 2)"
          % (n, len(changed), len(unchanged), len(declined)))
    if declined:
        reasons = collections.Counter(decline_reason(work, rel) for rel in declined)
        print("  decline reasons (stderr, top 10):")
        for msg, k in reasons.most_common(10):
            print("    %4d  %s" % (k, msg))
    show("panics / killed by a signal", panics, lambda t: "%s: %s %s" % t)
    show("timeouts", timeouts, lambda t: "%s: %s" % t)
    show("unexpected exit codes", unexpected, lambda t: "%s: %s exit %d" % t)
    show("no exit code recorded", missing_runs)
    show("declined (exit 2) but the file was modified anyway", declined_modified)
    show("non-idempotent: --write exited 0, then --check did not", non_idem,
         lambda t: "%s: --check %s" % (t[0], describe(t[1])))
    show("stray files left in AFTER", stray)
    show("files gone from AFTER", vanished)
    show("parser regressions: BuildKit parsed it before, not after", regressions, lambda t: "%s: %s" % t)
    show("instruction-kind violations (allowed added: %s; allowed lost: %s; conversions: %s)"
         % (" ".join(sorted(allowed_added)) or "-", " ".join(sorted(allowed_lost)) or "-",
            " ".join(conversions) or "-"),
         kind_violations, lambda t: "%s: %s%s" % (t[0], t[1], ("\n      " + t[2]) if t[2] else ""))
    if splits:
        print("  note: %d files split into stages (FROM added; repeated settings and COPY --from checked by text): %s"
              % (len(splits), ", ".join(splits[:5])))
    if fixed_parse:
        print("  note: %d files BuildKit rejected before parse after the fix: %s"
              % (len(fixed_parse), ", ".join(fixed_parse[:5])))
    for nt in notes[:10]:
        print("  note: " + nt)
    failed_dm = declined_modified if a.fail_declined_modified else []
    print("fix: %d panics, %d timeouts, %d unexpected exit codes, %d non-idempotent, "
          "%d parser regressions, %d instruction-kind violations, %d declined-but-modified, %d stray/vanished files"
          % (len(panics), len(timeouts), len(unexpected), len(non_idem), len(regressions), len(kind_violations),
             len(declined_modified), len(stray) + len(vanished)))
    bad = (panics or timeouts or unexpected or missing_runs or failed_dm or non_idem or stray or vanished
           or regressions or kind_violations)
    return 1 if bad else 0


def dl3020(a):
    work = a.work
    try:
        with open(os.path.join(work, "changed.txt"), encoding="utf-8") as fh:
            changed = [l.rstrip("\n") for l in fh if l.strip()]
    except OSError:
        changed = []

    def load(side, rel):
        p = os.path.join(work, "hadolint", side, rel + ".json")
        try:
            with open(p, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return None
        return data if isinstance(data, list) else None

    still, before_n, unparsed = [], 0, []
    for rel in changed:
        b, af = load("before", rel), load("after", rel)
        if b is not None and any(x.get("code") == "DL3020" for x in b):
            before_n += 1
        if af is None:
            unparsed.append(rel)
            continue
        lines = [x.get("line") for x in af if x.get("code") == "DL3020"]
        if lines:
            still.append((rel, lines))
    print("dl3020: hadolint on %d changed files: DL3020 fired on %d before the fix, still fires on %d after"
          % (len(changed), before_n, len(still)))
    for rel, lines in still:
        print("  %s: line %s" % (rel, ", ".join(str(x) for x in lines)))
    if unparsed:
        print("  hadolint gave no JSON result for %d files (parse error?): %s"
              % (len(unparsed), ", ".join(unparsed[:10])))
    return 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    v = sub.add_parser("verdict")
    v.add_argument("--work", required=True)
    v.add_argument("--allowed-added", default="RUN USER")
    v.add_argument("--allowed-conversions", default="ADD:COPY")
    v.add_argument("--allowed-lost", default="")
    v.add_argument("--write-ok", default="0 2")
    v.add_argument("--fail-declined-modified", type=int, default=1)
    v.add_argument("--allow-split", type=int, default=0)
    d = sub.add_parser("dl3020")
    d.add_argument("--work", required=True)
    a = ap.parse_args()
    return verdict(a) if a.mode == "verdict" else dl3020(a)


if __name__ == "__main__":
    sys.exit(main())

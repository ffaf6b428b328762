"""End-to-end throughput and a burst: files dropped into the inbox of a real ``dejiru run``.

    python -m bench.pipeline [--files 1000] [--distinct 40] [--out bench/out/pipeline.json]

Measures pages per minute from the drop to a stored, routed record (keying excluded: the run is
started with ``--no-keying``), and the peak memory of the whole process tree (``dejiru run`` and
everything it started) while it works through the burst. Each file is a distinct file (its own
SHA-256) made from one of ``--distinct`` generated scans, so every file is read in full.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def process_tree(root: int) -> list[Path]:
    """The ``/proc`` folders of a process and all its descendants (those alive now)."""
    children: dict[int, list[int]] = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2 :].split()[1])  # after the command, which may hold spaces
        children.setdefault(ppid, []).append(int(d.name))
    tree, stack = [], [root]
    while stack:
        pid = stack.pop()
        tree.append(Path("/proc") / str(pid))
        stack.extend(children.get(pid, []))
    return tree


def tree_rss_kib(root: int) -> int:
    """Resident memory of a process and all its descendants."""
    total = 0
    for d in process_tree(root):
        try:
            status = (d / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        total += int(fields["VmRSS"].split()[0]) if "VmRSS" in fields else 0
    return total


def tree_cpu_s(root: int) -> dict[str, float]:
    """CPU seconds (user + system) of a process and its descendants, by command: where the time went."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, float] = {}
    for d in process_tree(root):
        try:
            stat = (d / "stat").read_text()
            cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        rest = stat[stat.rindex(")") + 2 :].split()
        key = " ".join(cmd.split()[:4])[:80] or d.name
        out[key] = round(out.get(key, 0.0) + (int(rest[11]) + int(rest[12])) / tick, 1)
    return out


def make_files(staging: Path, n: int, distinct: int) -> list[Path]:
    from PIL import Image

    from formkit.registry import load_template
    from synth.samples import make_sample

    tpl = load_template("juminhyo_request")
    bases = [Image.fromarray(make_sample(tpl, 9_000_000 + i, dpi=200)[0]) for i in range(distinct)]
    files = []
    for i in range(n):
        buf = io.BytesIO()
        bases[i % distinct].save(buf, "JPEG", quality=85, comment=f"dejiru bench file {i}".encode())
        p = staging / f"burst_{i:05d}.jpg"
        p.write_bytes(buf.getvalue())
        files.append(p)
    return files


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=1000)
    ap.add_argument("--distinct", type=int, default=40)
    ap.add_argument("--out", type=Path, default=Path("bench/out/pipeline.json"))
    args = ap.parse_args()

    from records.models import DocStatus
    from records.store import Store

    work = Path(tempfile.mkdtemp(prefix="dejiru-burst-"))
    home, inbox, staging = work / "var", work / "inbox", work / "staging"
    for d in (inbox, staging):
        d.mkdir(parents=True)
    t0 = time.perf_counter()
    files = make_files(staging, args.files, args.distinct)
    print(
        f"{len(files)} files made from {args.distinct} scans in {time.perf_counter() - t0:.0f} s", flush=True
    )
    env = os.environ | {
        "DEJIRU_HOME": str(home),
        "DEJIRU_INBOX": str(inbox),
        "PREFECT_HOME": str(work / "prefect"),
        "DEJIRU_REVIEW_PORT": "18831",
        "DEJIRU_LEGACY_PORT": "18832",
    }
    log = (work / "run.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "dejiru.cli", "run", "--no-prefect-server", "--no-keying"],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    store = Store(f"sqlite:///{home / 'dejiru.db'}")
    peak = 0
    result: dict[str, Any] = {"files": args.files}
    try:
        while (
            not (home / "dejiru.db").exists() or "dejiru が動いています" not in (work / "run.log").read_text()
        ):
            time.sleep(0.5)
        idle = tree_rss_kib(proc.pid)
        dropped = time.perf_counter()
        for p in files:
            p.rename(inbox / p.name)
        done_at: list[tuple[float, int]] = []
        while True:
            peak = max(peak, tree_rss_kib(proc.pid))
            counts = store.count_by_status()
            finished = sum(v for k, v in counts.items() if k not in (DocStatus.RECEIVED, DocStatus.READING))
            done_at.append((time.perf_counter() - dropped, finished))
            if finished >= args.files:
                break
            if proc.poll() is not None:
                raise SystemExit(f"dejiru run stopped: see {work / 'run.log'}")
            time.sleep(1)
        elapsed = time.perf_counter() - dropped
        result |= {
            "elapsed_s": round(elapsed, 1),
            "pages_per_min": round(args.files / elapsed * 60, 1),
            "peak_rss_mib": round(peak / 1024, 1),
            "idle_rss_mib": round(idle / 1024, 1),
            "statuses": store.count_by_status(),
            "documents": len(store.documents(limit=100_000)),
            "cpu_s_by_process": tree_cpu_s(proc.pid),
        }
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    print(
        f"{result['files']} files dropped at once: all stored and routed in {result['elapsed_s']} s "
        f"→ {result['pages_per_min']} pages/min (keying excluded); peak memory of the whole process tree "
        f"{result['peak_rss_mib']} MiB (idle {result['idle_rss_mib']} MiB); documents {result['documents']}, "
        f"statuses {result['statuses']}; CPU seconds by process {result['cpu_s_by_process']}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()

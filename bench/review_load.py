"""Review UI under load: 50 reviewers opening documents at once (``make bench``; not a test).

    python -m bench.review_load [--reviewers 50] [--seconds 60] [--think 2-6] [--documents 100]

Starts ``dejiru serve`` in its own process on a store filled with real readings and logs 50 reviewers
in. Each reviewer works like a person: opens a document (the page and its scan image, from which every field crop is shown),
looks at it for ``--think`` seconds, opens the next. Prints p50/p95/p99 latency of the document view
and of the crops; then the same with no thinking time at all (``--think 0``: every reviewer hammering
the server), which shows the saturation throughput of this 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password"


def fill_store(home: Path, documents: int) -> list[int]:
    from PIL import Image

    from core.settings import load_settings
    from formkit.registry import load_template
    from pipeline.context import Context
    from pipeline.intake import intake_file
    from pipeline.reading import read_document
    from review.auth import hash_password
    from synth.samples import make_sample

    os.environ["DEJIRU_HOME"], os.environ["DEJIRU_INBOX"] = str(home), str(home / "inbox")
    os.environ["DEJIRU_REVIEW_ALL"] = "1"
    ctx = Context.create(load_settings())
    tpl = load_template("juminhyo_request")
    bases = [Image.fromarray(make_sample(tpl, 9_500_000 + i, dpi=200)[0]) for i in range(10)]
    ctx.settings.inbox.mkdir(parents=True, exist_ok=True)
    ids = []
    for i in range(documents):
        buf = io.BytesIO()
        bases[i % len(bases)].save(buf, "JPEG", quality=85, comment=f"load {i}".encode())
        p = ctx.settings.inbox / f"doc_{i:04d}.jpg"
        p.write_bytes(buf.getvalue())
        doc_id = intake_file(p, ctx).document_id
        read_document(doc_id, ctx)
        ids.append(doc_id)
    for r in range(100):
        ctx.store.add_user(f"reviewer{r}", hash_password(PASSWORD), "reviewer")
    return ids


async def reviewer(
    url: str,
    n: int,
    ids: list[int],
    until: float,
    think: tuple[float, float],
    html: list[float],
    crops: list[float],
) -> None:
    import random

    rng = random.Random(n)
    # Six connections per reviewer, as a browser opens to one host.
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=httpx.Limits(max_connections=6)) as c:
        form = (await c.get("/login")).text  # the login form's CSRF token, as a browser gets it
        token = re.search(r'name="csrf" value="([^"]+)"', form)
        assert token is not None
        await c.post(
            "/login", data={"username": f"reviewer{n}", "password": PASSWORD, "csrf": token.group(1)}
        )
        await asyncio.sleep(rng.uniform(0, think[1]))  # reviewers do not all start at the same instant
        k = 0
        while time.perf_counter() < until:
            doc = ids[(n * 7 + k) % len(ids)]
            k += 1
            t0 = time.perf_counter()
            r = await c.get(f"/documents/{doc}")
            html.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.status_code
            # Every field crop is a window onto the page image: the browser fetches that one image.
            for image in sorted(set(re.findall(r"url\((/documents/\d+/[a-z_./]+)\)", r.text))):
                t = time.perf_counter()
                await c.get(image)
                crops.append(time.perf_counter() - t)
            if think[1] > 0:
                await asyncio.sleep(rng.uniform(*think))


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(len(s) * p))] * 1000


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reviewers", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--think", default="2-6", help="seconds a reviewer looks at a document, low-high")
    ap.add_argument("--documents", type=int, default=200)
    ap.add_argument("--out", type=Path, default=Path("bench/out/review_load.json"))
    args = ap.parse_args()
    home = Path(tempfile.mkdtemp(prefix="dejiru-review-load-"))
    t0 = time.perf_counter()
    ids = fill_store(home, args.documents)
    print(f"{len(ids)} documents read into the store in {time.perf_counter() - t0:.0f} s", flush=True)
    port = 18841
    env = os.environ | {"DEJIRU_HOME": str(home), "DEJIRU_REVIEW_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "dejiru.cli", "serve"],
        env=env,
        cwd=REPO,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{url}/health").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        results = {}
        lo, _, hi = args.think.partition("-")
        for label, think in (("with_thinking", (float(lo), float(hi or lo))), ("no_thinking", (0.0, 0.0))):
            html: list[float] = []
            crops: list[float] = []
            t0 = time.perf_counter()
            asyncio.run(_all(url, args.reviewers, ids, t0 + args.seconds, think, html, crops))
            wall = time.perf_counter() - t0
            results[label] = {
                "think_s": list(think),
                "document_views": len(html),
                "wall_s": round(wall, 1),
                "views_per_s": round(len(html) / wall, 1),
                "document_view_ms": {
                    "p50": round(pct(html, 0.5), 1),
                    "p95": round(pct(html, 0.95), 1),
                    "p99": round(pct(html, 0.99), 1),
                },
                "crop_and_page_ms": {"p50": round(pct(crops, 0.5), 1), "p95": round(pct(crops, 0.95), 1)},
            }
            r = results[label]
            print(
                f"{args.reviewers} reviewers, think {think[0]:g}-{think[1]:g} s: {len(html)} document views in "
                f"{wall:.0f} s ({r['views_per_s']}/s): view p50 {r['document_view_ms']['p50']} ms, "
                f"p95 {r['document_view_ms']['p95']} ms, p99 {r['document_view_ms']['p99']} ms; "
                f"crops and page p95 {r['crop_and_page_ms']['p95']} ms",
                flush=True,
            )
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    result = {"reviewers": args.reviewers, "documents": len(ids), **results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"written: {args.out}")


async def _all(
    url: str,
    reviewers: int,
    ids: list[int],
    until: float,
    think: tuple[float, float],
    html: list[float],
    crops: list[float],
) -> None:
    await asyncio.gather(*(reviewer(url, n, ids, until, think, html, crops) for n in range(reviewers)))


if __name__ == "__main__":
    main()

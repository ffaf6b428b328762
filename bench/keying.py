"""Keying speed: records per minute per browser into the demo legacy system (``make bench``; not a test).

    python -m bench.keying [--records 60] [--slow-ms 0] [--out FILE]

One Playwright session on Debian's Chromium keys made-up approved applications (both demo forms:
住民票 by direct screens, 印鑑証明 through the frameset menu) with search-before-create, as the keying
flow does; printed per form and overall, and what the read-back of every input costs (the same records
keyed again with it off). ``--slow-ms`` adds the legacy system's own latency per request.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from core import progress


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--records", type=int, default=60)
    ap.add_argument("--slow-ms", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("bench/out/keying.json"))
    args = ap.parse_args()

    from bots.mapping import load_mapping
    from bots.runner import BotSession
    from core import clock
    from demo.legacy.app import Faults, make_app
    from formkit.registry import load_template
    from synth.samples import sample_values
    from tests.conftest import ServerThread, free_port

    tmp = Path(tempfile.mkdtemp(prefix="dejiru-bench-keying-"))
    forms = ["juminhyo_request", "inkan_request"]
    times: dict[str, list[float]] = {f: [] for f in forms}
    unchecked: list[float] = []  # the same records without the read-back, to show what it costs
    legacy = ServerThread(make_app(tmp / "legacy.db", Faults(slow_ms=args.slow_ms)), free_port())
    with legacy:
        os.environ["DEJIRU_LEGACY_URL"] = legacy.url
        for read_back in (True, False):
            with BotSession(load_mapping("demo_legacy"), tmp / "evidence", read_back=read_back) as bot:
                bot.login()
                label = f"入力 / keying, read-back {'on' if read_back else 'off'}"
                for i in progress.track(range(args.records), label):
                    form_id = forms[i % 2]
                    values, _ = sample_values(load_template(form_id), random.Random(i), clock.today())
                    t0 = time.perf_counter()
                    bot.key(form_id, values, f"BENCH{int(read_back)}{i:05d}")
                    (times[form_id] if read_back else unchecked).append(time.perf_counter() - t0)

    result: dict[str, Any] = {"records": args.records, "slow_ms": args.slow_ms, "forms": {}}
    print(f"keying bench: {args.records} records, one browser, legacy latency {args.slow_ms} ms")
    for form_id, ts in times.items():
        per_min = 60 / statistics.mean(ts)
        result["forms"][form_id] = {
            "records_per_min": round(per_min, 1),
            "p50_s": round(statistics.median(ts), 3),
        }
        print(f"  {form_id:18s} {per_min:6.1f} records/min  (median {statistics.median(ts):.2f} s/record)")
    all_ts = [t for ts in times.values() for t in ts]
    result["records_per_min"] = round(60 / statistics.mean(all_ts), 1)
    print(f"  {'all':18s} {result['records_per_min']:6.1f} records/min per browser (target ≥ 30)")
    cost = statistics.mean(all_ts) - statistics.mean(unchecked)
    result["read_back_ms_per_record"] = round(cost * 1000, 1)
    print(f"  read-back of every input before each click: {cost * 1000:+.0f} ms per record")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    with progress.shown():
        main()

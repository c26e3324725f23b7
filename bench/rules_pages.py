"""Latency of the measures pages (/rules, /rules/<id>) through the Flask app, first request (pack
parsed) and then cached (web.pack_cache), on a scratch SQLite database.

    .venv/bin/python bench/rules_pages.py [--rounds 50]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=50)
    args = ap.parse_args()
    os.environ.setdefault("SANCTIONS_DATA_DIR", tempfile.mkdtemp(prefix="bench-rules-"))
    os.environ.setdefault("SANCTIONS_SECRET_KEY", "bench")
    os.environ.pop("DATABASE_URL", None)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

    from engine.storage.db import migrate
    from web import create_app
    from web.auth.accounts import create_user, get_user
    from web.pack_cache import PACKS

    migrate()
    app = create_app({"TESTING": True})
    client = app.test_client()
    user = get_user("bench") or create_user("bench", "bench-password-1", "auditor", actor="bench")
    with client.session_transaction() as sess:
        sess["uid"], sess["role"] = user.id, user.role

    def timed(url: str) -> float:
        t = time.perf_counter()
        resp = client.get(url)
        assert resp.status_code == 200, (url, resp.status_code)
        return (time.perf_counter() - t) * 1000

    first = timed("/rules")
    rule_ids = [r.id for r in PACKS.get(_rules_dir()).rules]
    print(
        f"first /rules (pack parsed): {first:.0f} ms; {len(rule_ids)} measures; packs parsed: {PACKS.loads}"
    )
    for label, urls in (
        ("/rules", ["/rules"]),
        ("/rules/<id>", [f"/rules/{rid}" for rid in rule_ids]),
    ):
        samples = [timed(urls[i % len(urls)]) for i in range(args.rounds)]
        q = statistics.quantiles(samples, n=100)
        print(
            f"{label:12} cached: n={len(samples)} p50 {q[49]:.1f} ms  p90 {q[89]:.1f} ms  p99 {q[98]:.1f} ms  max {max(samples):.1f} ms"
        )
    print(f"packs parsed in total: {PACKS.loads}; load average {os.getloadavg()[0]:.1f}")


def _rules_dir() -> Path:
    from engine.config import get_settings

    return get_settings().rules_dir


if __name__ == "__main__":
    main()

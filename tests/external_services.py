"""Exit 0 when both PostgreSQL and Redis answer at the given URLs; else say why and exit 1.

Used by `make test` to decide whether to run the second pass (not collected by pytest).
"""

from __future__ import annotations

import sys


def main(pg_url: str, redis_url: str) -> int:
    problems = []
    try:
        import psycopg

        with psycopg.connect(pg_url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:
        problems.append(f"PostgreSQL at {pg_url}: {exc}")
    try:
        import redis

        redis.Redis.from_url(redis_url, socket_timeout=3).ping()
    except Exception as exc:
        problems.append(f"Redis at {redis_url}: {exc}")
    for p in problems:
        print(f"not reachable: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))

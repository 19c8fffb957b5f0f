"""REST round trips per second against the Coinbase-protocol simulator, over loopback TLS,
with the official SDK's RESTClient (one keep-alive session, JWT signed per request).

    uv run python bench/sim_rest.py [--seconds 5]

Prints one line per call type: requests/s and p50/p99 latency in ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid

from coinbase.rest import RESTClient
from gpt_trader_coinbase_sim.server import SimulatorThread


def measure(name: str, fn, seconds: float) -> None:
    lat: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        fn()
        lat.append(time.perf_counter() - t0)
    lat.sort()
    rps = len(lat) / sum(lat)
    p50 = statistics.median(lat) * 1000
    p99 = lat[int(len(lat) * 0.99) - 1] * 1000
    print(f"{name:<28} {rps:8.0f} req/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms   (n={len(lat)})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d, SimulatorThread(d, history_minutes=60) as sim:
        os.environ["REQUESTS_CA_BUNDLE"] = sim.info.cert_file
        client = RESTClient(key_file=sim.info.key_file, base_url=sim.info.rest_base_url)
        client.get_unix_time()  # warm the TLS session
        measure("GET /time (public)", client.get_unix_time, args.seconds)
        measure("GET /products/BTC-USD", lambda: client.get_product("BTC-USD"), args.seconds)
        measure("GET /accounts", client.get_accounts, args.seconds)
        measure(
            "POST /orders (limit, rests)",
            lambda: client.limit_order_gtc_buy(uuid.uuid4().hex, "BTC-USD", "0.0001", "1000.00"),
            args.seconds,
        )


if __name__ == "__main__":
    main()

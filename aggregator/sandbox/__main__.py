"""python -m aggregator.sandbox [--host H] [--port N] [--scenario FILE|NAME] [--speed X] [--fast]"""

from __future__ import annotations

import argparse

from aggregator.sandbox.app import serve
from aggregator.sandbox.scenarios import DEMO_SCENARIO


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m aggregator.sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--scenario", default=DEMO_SCENARIO,
                        help="scenario file (.json or .toml) or built-in name (default, coproduction); "
                             "default: the demo's, which config/demo.toml is written for")
    parser.add_argument("--speed", type=float, default=1.0, help="scenario seconds per real second")
    parser.add_argument("--fast", action="store_true", help="release every post at once")
    args = parser.parse_args()
    serve(args.host, args.port, args.scenario, args.speed, args.fast)


if __name__ == "__main__":
    main()

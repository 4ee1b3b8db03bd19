"""The `aggregator` command.

Every sub-command has --help. Errors are one clear message on stderr, never a
traceback: exit 2 for a wrong config or usage, 1 for a runtime failure.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from aggregator import __version__
from aggregator.cli_common import UsageError, add_config_arg, load_from_args, open_storage, safe_url
from aggregator.cli_export import CommandError
from aggregator.config import ConfigError, LoadedConfig
from aggregator.storage import StorageError

Handler = Callable[[argparse.Namespace], int]


# ---- commands -------------------------------------------------------------------------------------------


def cmd_init(args: argparse.Namespace) -> int:
    target = Path(args.path)
    if target.exists() and not args.force:
        raise UsageError(f"{target} exists; pass --force to overwrite it")
    starter = resources.files("aggregator").joinpath("data/starter.toml").read_text(encoding="utf-8")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(starter, encoding="utf-8")
    print(f"wrote {target}; edit it, then: aggregator check-config --config {target}")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    cfg = load_from_args(args)
    s = cfg.settings
    print(f"config: {cfg.path}")
    print(f"database: {safe_url(cfg.database_url)}")
    print(f"public url: {s.server.public_url}")
    for ev in s.events:
        start, end = ev.start.replace(tzinfo=None), ev.end.replace(tzinfo=None)
        print(f"event {ev.slug}: {ev.title}")
        print(f"  when: {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} {ev.timezone}; venue: {ev.venue or '-'}")
        print(f"  hashtags: {' '.join('#' + t for t in ev.hashtags)}")
        print(f"  programme: {len(ev.programme)} sessions")
        for p in ev.programme:
            print(f"    {p.start:%H:%M}-{p.end:%H:%M} [{p.kind}] {p.title}")
        print(f"  moderation: {ev.moderation.mode}-moderation, {len(ev.moderation.blocked_words)} blocked words")
        print(f"  sources: {len(ev.sources)} ({sum(1 for x in ev.sources if x.enabled)} enabled)")
        for i, src in enumerate(ev.sources):
            name = ev.source_name(i)
            state = "on " if src.enabled else "off"
            creds = cfg.secrets.get(f"{ev.slug}/{name}", {})
            cred_note = f"; credentials: {', '.join(sorted(creds))}" if creds else ""
            where = src.params.get("url") or src.base_url
            print(f"    [{state}] {name} ({src.kind}) every {src.interval}s from {where}{cred_note}")
    print("ok")
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    cfg = load_from_args(args)
    from aggregator.storage.migrate import current

    storage = open_storage(cfg)
    try:
        print(f"database {safe_url(cfg.database_url)} is at revision {current(storage.engine)}; "
              f"{len(cfg.settings.events)} event(s) in step with {cfg.path}")
    finally:
        storage.close()
    return 0


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S")


def cmd_collect(args: argparse.Namespace) -> int:
    if not args.once:
        raise UsageError("collect runs every source once: pass --once (use `aggregator serve` to keep collecting)")
    from aggregator.runtime import build_collection
    from aggregator.scheduler import collect_once

    cfg = load_from_args(args)
    storage = open_storage(cfg)
    collection = build_collection(cfg, storage, only=args.source)
    try:
        if not collection.runners:
            print("no enabled sources" + (f" named {args.source}" if args.source else ""))
            return 1 if args.source else 0
        outcomes = collect_once(collection.runners)
    finally:
        collection.close()
        storage.close()
    failed = 0
    for o in outcomes:
        name = f"{o.job.event.slug}/{o.job.name}"
        if o.ok and o.report is not None:
            r = o.report
            note = " (not modified)" if o.not_modified else ""
            gone = f", deleted at source {o.removed}" if o.removed else ""
            skipped = sum(n for _, n in o.skipped)
            why = f" ({'; '.join(f'{reason}: {n}' for reason, n in o.skipped)})" if o.skipped else ""
            print(f"{name}: fetched {o.fetched}, stored {r.inserted - r.folded}, "
                  f"folded as duplicates {r.folded}, updated {r.updated}, already had {r.unchanged}, "
                  f"tombstoned {r.tombstoned}, skipped {skipped}{why}{gone}{note}")
        else:
            failed += 1
            print(f"{name}: FAILED: {o.error} (next try {_when(o.next_run_at)} UTC)")
    print(f"{len(outcomes) - failed} of {len(outcomes)} sources collected")
    return 0 if failed == 0 else 1


def source_lines(ev_slug: str, records: list[Any], now: datetime) -> list[str]:
    """`aggregator sources` for one event: the console's wording (aggregator.health)."""
    from aggregator.health import health
    from aggregator.web.chrome import platform_label

    lines = [f"event {ev_slug}"]
    for rec in records:
        h = health(rec, now)
        lines.append(f"  {h.name} ({platform_label(h.kind)}): {h.summary}; posts stored {h.posts}; "
                     f"last success {_when(h.last_success_at)}; next run {_when(h.next_run_at)}")
        if h.state == "rate limited" and rec.rate_limited_until is not None:
            lines.append(f"        rate limited until {_when(rec.rate_limited_until)}")
        if h.error:
            lines.append(f"        last error at {_when(h.last_error_at)}: {h.error}")
            if h.raw_error and h.raw_error != h.error:
                lines.append(f"        (as reported: {h.raw_error[:300]})")
    return lines


def cmd_sources(args: argparse.Namespace) -> int:
    from aggregator.clock import system_clock

    cfg = load_from_args(args)
    storage = open_storage(cfg)
    try:
        print(f"database: {safe_url(cfg.database_url)}")
        for ev in storage.events():
            print("\n".join(source_lines(ev.slug, storage.sources(ev.id), system_clock())))
    finally:
        storage.close()
    return 0


def cmd_sandbox(args: argparse.Namespace) -> int:
    from aggregator.sandbox import serve
    from aggregator.sandbox.scenarios import DEMO_SCENARIO

    # The demo's scenario by default, so `aggregator sandbox` + config/demo.toml is the demo's world.
    scenario = args.scenario or DEMO_SCENARIO
    serve(host=args.host, port=args.port, scenario_path=scenario, speed=args.speed, fast=args.fast)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from aggregator.demo import run_demo

    if args.speed <= 0:
        raise UsageError("--speed must be above 0")
    return run_demo(args)


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from aggregator.runtime import build_collection
    from aggregator.scheduler import Scheduler
    from aggregator.storage.leader import LeaderLock
    from aggregator.web.app import create_app

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    cfg = load_from_args(args)
    key_env = cfg.settings.server.secret_key_env
    if args.workers > 1 and not os.environ.get(key_env):
        # Without it each worker signs sessions with its own random key: a console sign-in
        # would work on one worker and be refused by the next.
        raise UsageError(f"--workers needs the cookie-signing key in ${key_env}, shared by every worker")
    for warning in serve_warnings(cfg, args.host, args.port, os.environ):
        print(f"WARNING: {warning}", file=sys.stderr, flush=True)
    storage = open_storage(cfg)  # migrates once, before any worker starts
    collection = build_collection(cfg, storage) if not args.no_collect else None
    # One collecting process per database; other `serve` processes stand by and take over.
    # With --workers N the collector runs here, in the supervising process, never in a worker.
    scheduler = (Scheduler(collection.runners, leader=LeaderLock(storage.engine), tasks=collection.tasks(),
                           streams=collection.streams)
                 if collection else None)
    try:
        if scheduler is not None:
            scheduler.start()
            print(f"collecting from {len(scheduler.runners)} sources (or standing by while another process does)")
        print(f"serving on http://{args.host}:{args.port}/ ({args.workers} worker processes)"
              if args.workers > 1 else f"serving on http://{args.host}:{args.port}/", flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # uvicorn re-raises Ctrl-C after shutting down
            if args.workers > 1:
                # Each worker builds its own app (aggregator.web.worker) from the same config; each
                # tails the live log, woken by NOTIFY on PostgreSQL, by polling on SQLite.
                os.environ["AGGREGATOR_CONFIG"] = str(cfg.path.resolve())
                os.environ["DATABASE_URL"] = cfg.database_url
                uvicorn.run("aggregator.web.worker:create_worker_app", factory=True, workers=args.workers,
                            host=args.host, port=args.port, log_level="warning")
            else:
                uvicorn.run(create_app(cfg, storage), host=args.host, port=args.port, log_level="warning")
        print("stopped", flush=True)
    finally:
        if scheduler is not None:
            scheduler.stop()
        if collection is not None:
            collection.close()
        storage.close()
    return 0


def serve_warnings(cfg: LoadedConfig, host: str, port: int, environ: Mapping[str, str]) -> list[str]:
    """What `serve` must say out loud before it starts: setups that work today and fail people tomorrow."""
    from urllib.parse import urlsplit

    out: list[str] = []
    key_env = cfg.settings.server.secret_key_env
    if not environ.get(key_env):
        out.append(f"{key_env} is not set: sessions are signed with a random key, so every restart signs "
                   f"everyone out (and several processes cannot share sessions). Set it to a long random "
                   f"string, e.g. `export {key_env}=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')`.")
    public_url = cfg.settings.server.public_url
    public = urlsplit(public_url)
    public_port = public.port or (443 if public.scheme == "https" else 80)
    loopback = {"127.0.0.1", "localhost", "::1"}
    here = f"http://{host}:{port}/"
    if public.hostname in loopback and (public_port != port or host not in loopback):
        out.append(f"server.public_url is {public_url} but this serves on {here}: QR codes, embed snippets and "
                   f"links will point at the wrong place. Set server.public_url to the address people use.")
    elif public.hostname not in loopback and host not in loopback and public_port != port:
        out.append(f"server.public_url is {public_url} but this serves on {here}: fine behind a reverse proxy "
                   f"that forwards {public_url} here; otherwise links and QR codes are wrong.")
    return out


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aggregator",
        description="Collect, deduplicate, moderate and show what people post about your event.",
    )
    parser.add_argument("--version", action="version", version=f"aggregator {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("init", help="write a starter configuration file")
    p.add_argument("path", nargs="?", default="aggregator.toml", help="where to write it (default: aggregator.toml)")
    p.add_argument("--force", action="store_true", help="overwrite an existing file")
    p.set_defaults(handler=cmd_init)

    p = sub.add_parser("check-config", help="validate a configuration file and summarise it")
    add_config_arg(p)
    p.set_defaults(handler=cmd_check_config)

    p = sub.add_parser("migrate", help="create or upgrade the database schema and load the config's events")
    add_config_arg(p)
    p.set_defaults(handler=cmd_migrate)

    p = sub.add_parser("collect", help="run every enabled source once and print what each stored")
    add_config_arg(p)
    p.add_argument("--once", action="store_true", help="run each source once, then exit (required)")
    p.add_argument("--source", metavar="NAME", help="only this source (NAME or EVENT/NAME)")
    p.set_defaults(handler=cmd_collect)

    p = sub.add_parser("sources", help="show each source's health: last success, last error, next run")
    add_config_arg(p)
    p.set_defaults(handler=cmd_sources)

    p = sub.add_parser("sandbox", help="serve loopback fakes of every platform's API (for tests and demos)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--scenario", metavar="FILE|NAME",
                   help="scenario file (TOML or JSON) or built-in name (default coproduction: the demo's day, "
                        "which config/demo.toml is written for)")
    p.add_argument("--speed", type=float, default=1.0, help="how many times faster than real time posts appear")
    p.add_argument("--fast", action="store_true", help="release every post at once")
    p.set_defaults(handler=cmd_sandbox)

    p = sub.add_parser("demo", help="replay a conference day on the sandbox: wall, timeline, console, story")
    p.add_argument("--host", default="127.0.0.1", help="address to serve on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="web port (default 8000)")
    p.add_argument("--sandbox-port", type=int, default=8765, help="sandbox port (default 8765; 0: any free)")
    p.add_argument("--speed", type=float, default=60.0, help="replay speed (default 60: the day in about 8 minutes)")
    p.add_argument("--fast", action="store_true", help="release the whole day at once")
    p.add_argument("--reset", action="store_true", help="forget the previous demo day and start over")
    p.add_argument("--scenario", default="coproduction", help="built-in scenario (default coproduction)")
    p.add_argument("--data-dir", default="data", help="where the demo keeps its database and state (default data)")
    p.add_argument("--database", metavar="URL", help="database URL (default: SQLite in the data dir)")
    p.add_argument("--config", metavar="FILE", help="demo config (default: the shipped config/demo.toml)")
    p.set_defaults(handler=cmd_demo)

    from aggregator.cli_export import add_export_commands
    from aggregator.cli_users import add_user_commands

    add_user_commands(sub)
    add_export_commands(sub)

    p = sub.add_parser("serve", help="serve the wall, timeline, console and API, and collect on schedule")
    add_config_arg(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--no-collect", action="store_true", help="serve only; do not run the scheduler")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="web worker processes (default 1); PostgreSQL wakes every one at once, SQLite polls")
    p.set_defaults(handler=cmd_serve)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except ConfigError as exc:
        print(f"aggregator: config error:\n{exc}", file=sys.stderr)
        return 2
    except UsageError as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return 2
    except (StorageError, CommandError) as exc:
        print(f"aggregator: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("aggregator: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

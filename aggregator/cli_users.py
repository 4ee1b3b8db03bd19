"""`aggregator user add|list|passwd|disable|enable`: console accounts from the command line.

The first organiser is made here (then organisers add others in the console).
Passwords are read with a hidden prompt (asked twice), or one line from stdin
with --password-stdin for scripts; never from the command line.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from aggregator.storage.schema import ROLES


def add_user_commands(subparsers: Any) -> None:
    """Add the `user` command and its subcommands to the `aggregator` parser's subparsers."""
    from aggregator.cli import _add_config_arg

    user = subparsers.add_parser("user", help="add, list, disable console users and set their passwords")
    sub = user.add_subparsers(dest="user_command", metavar="ACTION", required=True)

    p = sub.add_parser("add", help="add a console user (organiser, moderator or reporter)")
    p.add_argument("username")
    p.add_argument("--role", choices=ROLES, required=True, help="organiser: everything; moderator: moderation; "
                   "reporter: stories and own posts")
    p.add_argument("--name", default="", help="display name (default: the username)")
    p.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    _add_config_arg(p)
    p.set_defaults(handler=cmd_user_add)

    p = sub.add_parser("list", help="list console users")
    _add_config_arg(p)
    p.set_defaults(handler=cmd_user_list)

    p = sub.add_parser("passwd", help="set a user's password (ends their sessions)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    _add_config_arg(p)
    p.set_defaults(handler=cmd_user_passwd)

    p = sub.add_parser("disable", help="disable a user (ends their sessions; their history stays)")
    p.add_argument("username")
    _add_config_arg(p)
    p.set_defaults(handler=cmd_user_disable, disabled=True)

    p = sub.add_parser("enable", help="enable a disabled user again")
    p.add_argument("username")
    _add_config_arg(p)
    p.set_defaults(handler=cmd_user_disable, disabled=False)


def _password(args: argparse.Namespace) -> str:
    from aggregator.cli import UsageError

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    elif not sys.stdin.isatty():
        raise UsageError("no terminal to ask for the password on: pipe it in with --password-stdin, "
                         "e.g. `printf '%s\\n' \"$PASSWORD\" | aggregator user add NAME --role ROLE --password-stdin`")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            raise UsageError("the passwords do not match")
    if len(password) < 8:
        raise UsageError("a password needs at least 8 characters")
    return password


def _storage(args: argparse.Namespace) -> Any:
    from aggregator.cli import _load, open_storage

    return open_storage(_load(args))


def cmd_user_add(args: argparse.Namespace) -> int:
    from aggregator.cli import UsageError
    from aggregator.storage.users import UserExists
    from aggregator.web.auth import hash_password

    password = _password(args)
    storage = _storage(args)
    try:
        user_id = storage.create_user(args.username, hash_password(password), args.role, args.name)
    except (UserExists, ValueError) as exc:
        raise UsageError(str(exc)) from None
    finally:
        storage.close()
    print(f"user.added id={user_id} username={args.username.strip().lower()} role={args.role}")
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    storage = _storage(args)
    try:
        found = storage.users()
    finally:
        storage.close()
    for u in found:
        last = u.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if u.last_login_at else "never"
        state = "disabled" if u.disabled else "active"
        print(f"{u.username:<20} {u.role:<10} {state:<8} last sign-in {last}  {u.display_name}")
    print(f"{len(found)} user{'s' if len(found) != 1 else ''}")
    return 0


def _find(storage: Any, username: str) -> Any:
    from aggregator.cli import UsageError

    user = storage.user_by_name(username)
    if user is None:
        storage.close()
        raise UsageError(f"no user {username!r}")
    return user


def cmd_user_passwd(args: argparse.Namespace) -> int:
    from aggregator.web.auth import hash_password

    password = _password(args)
    storage = _storage(args)
    try:
        user = _find(storage, args.username)
        storage.update_user(user.id, password_hash=hash_password(password))
    finally:
        storage.close()
    print(f"user.password_set username={user.username}")
    return 0


def cmd_user_disable(args: argparse.Namespace) -> int:
    storage = _storage(args)
    try:
        user = _find(storage, args.username)
        storage.update_user(user.id, disabled=args.disabled)
    finally:
        storage.close()
    print(f"user.{'disabled' if args.disabled else 'enabled'} username={user.username}")
    return 0

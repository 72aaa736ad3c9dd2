"""Command-line todo list stored in a JSON file, built with argparse subcommands."""
import argparse
import json
import sys
from pathlib import Path

DEFAULT_DB = Path.home() / ".todo.json"


def load(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return json.loads(path.read_text(encoding="utf-8"))


def save(path: Path, tasks: list[dict]) -> None:
    # Write to a sibling temp file then rename, so a crash never leaves half a file.
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(tasks, indent=2), encoding="utf-8")
    tmp.replace(path)


def cmd_add(args: argparse.Namespace, tasks: list[dict]) -> int:
    next_id = max((t["id"] for t in tasks), default=0) + 1
    tasks.append({"id": next_id, "text": " ".join(args.text), "done": False,
                  "priority": args.priority})
    print(f"added #{next_id}")
    return 0


def cmd_list(args: argparse.Namespace, tasks: list[dict]) -> int:
    shown = [t for t in tasks if args.all or not t["done"]]
    for t in sorted(shown, key=lambda t: (-t["priority"], t["id"])):
        mark = "x" if t["done"] else " "
        print(f"[{mark}] {t['id']:>3}  (p{t['priority']}) {t['text']}")
    return 0


def cmd_done(args: argparse.Namespace, tasks: list[dict]) -> int:
    for t in tasks:
        if t["id"] == args.id:
            t["done"] = True
            return 0
    print(f"no task #{args.id}", file=sys.stderr)
    return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="todo", description="Tiny todo manager")
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="storage file")
    sub = parser.add_subparsers(dest="command", required=True)

    add = sub.add_parser("add", help="add a task")
    add.add_argument("text", nargs="+")
    add.add_argument("-p", "--priority", type=int, choices=range(1, 4), default=2)
    add.set_defaults(handler=cmd_add)

    ls = sub.add_parser("list", help="show tasks")
    ls.add_argument("-a", "--all", action="store_true", help="include finished tasks")
    ls.set_defaults(handler=cmd_list)

    done = sub.add_parser("done", help="mark a task finished")
    done.add_argument("id", type=int)
    done.set_defaults(handler=cmd_done)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tasks = load(args.db)
    status = args.handler(args, tasks)
    # Listing is read-only; skip the write so we don't touch the file's mtime.
    if args.command != "list" and status == 0:
        save(args.db, tasks)
    return status


if __name__ == "__main__":
    sys.exit(main())

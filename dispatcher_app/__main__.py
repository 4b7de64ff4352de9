"""``python -m dispatcher_app --host H --port P --api URL``: serve the dispatcher app on
the web; with ``--desktop``, open it in Flet's desktop client instead."""

from collections.abc import Sequence

from app_kit.web import launch, parse_args
from dispatcher_app.main import build

DEFAULT_PORT = 8551


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args("dispatcher_app", DEFAULT_PORT, argv)
    launch("dispatcher app", build(args.api), args)


if __name__ == "__main__":
    main()

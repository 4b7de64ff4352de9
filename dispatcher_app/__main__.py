"""``python -m dispatcher_app --host H --port P --api URL``: serve the dispatcher app on the web."""

from collections.abc import Sequence

from app_kit.web import parse_args, serve
from dispatcher_app.main import build

DEFAULT_PORT = 8551


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args("dispatcher_app", DEFAULT_PORT, argv)
    serve("dispatcher app", build(args.api), args.host, args.port)


if __name__ == "__main__":
    main()

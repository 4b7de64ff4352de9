"""``python -m driver_app --host H --port P --api URL``: serve the driver app on the web
(``--desktop``: in Flet's desktop client).

The offline queue's directory is ``$LASTMILE_DRIVER_DATA_DIR`` (see
:func:`driver_app.main.default_data_dir`).
"""

from collections.abc import Sequence

from app_kit.web import launch, parse_args
from driver_app.main import build

DEFAULT_PORT = 8552


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args("driver_app", DEFAULT_PORT, argv)
    launch("driver app", build(args.api), args)


if __name__ == "__main__":
    main()

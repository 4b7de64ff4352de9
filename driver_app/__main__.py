"""``python -m driver_app --host H --port P --api URL [--mqtt URL]``: serve the driver app
on the web (``--desktop``: in Flet's desktop client).

The offline queue's directory is ``$LASTMILE_DRIVER_DATA_DIR`` (see
:func:`driver_app.main.default_data_dir`). ``--mqtt mqtt://DEVICE:PASSWORD@host:1883`` (default
``$LASTMILE_DRIVER_MQTT_URL``) sends the GPS fixes to that MQTT broker, falling back to HTTP.
"""

import argparse
from collections.abc import Sequence

from app_kit.web import launch, parse_args
from driver_app.main import MQTT_URL_VARIABLE, build

DEFAULT_PORT = 8552


def main(argv: Sequence[str] | None = None) -> None:
    mqtt = argparse.ArgumentParser(add_help=False)
    mqtt.add_argument(
        "--mqtt",
        default=None,
        metavar="URL",
        help=f"send the GPS fixes to this MQTT broker, mqtt://DEVICE:PASSWORD@host:1883, "
        f"falling back to HTTP (default: ${MQTT_URL_VARIABLE}; unset: HTTP only)",
    )
    args = parse_args("driver_app", DEFAULT_PORT, argv, parents=[mqtt])
    launch("driver app", build(args.api, mqtt_url=args.mqtt), args)


if __name__ == "__main__":
    main()

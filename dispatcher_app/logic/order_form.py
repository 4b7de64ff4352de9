"""The "new order" form as an order: the same checks and words as a CSV row."""

from collections.abc import Mapping
from datetime import tzinfo

from shared.order_import import LABELS, OrderField, RowError, Table, validate_row
from shared.schemas.orders import OrderCreate

# The form's fields, in the order the dialog shows them.
FORM_FIELDS: tuple[OrderField, ...] = (
    OrderField.REFERENCE,
    OrderField.RECIPIENT_NAME,
    OrderField.RECIPIENT_PHONE,
    OrderField.RECIPIENT_EMAIL,
    OrderField.ADDRESS,
    OrderField.LAT,
    OrderField.LNG,
    OrderField.WINDOW_START,
    OrderField.WINDOW_END,
    OrderField.WEIGHT_KG,
    OrderField.BARCODES,
    OrderField.NOTES,
)
_BY_LABEL = {LABELS[f]: f for f in FORM_FIELDS}


def form_order(values: Mapping[OrderField, str], tz: tzinfo) -> OrderCreate | dict[OrderField, str]:
    """The order the form describes, or a message per field at fault (window times without
    an offset are in ``tz``; a problem with no field of its own is under ``ADDRESS``)."""
    table = Table(
        headers=tuple(LABELS[f] for f in FORM_FIELDS),
        rows=(tuple(values.get(f, "").strip() for f in FORM_FIELDS),),
    )
    mapping = {f: i for i, f in enumerate(FORM_FIELDS)}
    result = validate_row(1, table.rows[0], table, mapping, tz)
    if result.order is not None:
        return result.order
    return _by_field(result.errors)


def _by_field(errors: tuple[RowError, ...]) -> dict[OrderField, str]:
    found: dict[OrderField, str] = {}
    for error in errors:
        key = _BY_LABEL.get(error.column, OrderField.ADDRESS)
        found.setdefault(key, error.message)
    return found


def format_coordinate(value: float) -> str:
    """Degrees to six decimals (about 0.1 m), as the lat/lon fields show them."""
    return f"{value:.6f}"

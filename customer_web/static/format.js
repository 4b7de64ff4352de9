// Pure formatting for the tracking page: no DOM, no network. Times are ISO 8601 strings from
// the API; "now" is epoch milliseconds, passed in so a test can fix it. Clock times are in
// the customer's own time zone and locale.

export const STATUS_LABELS = {
  created: "Order received",
  assigned: "Driver assigned",
  en_route_to_pickup: "Driver heading to pickup",
  picked_up: "Parcel picked up",
  en_route: "On its way",
  arriving: "Arriving soon",
  delivered: "Delivered",
  failed: "Delivery attempt failed",
  returned: "Returned to sender",
  rescheduled: "Rescheduled",
  cancelled: "Cancelled",
};

// The usual path of an order, for the timeline's steps still to come.
const MAIN_PATH = ["created", "assigned", "en_route", "arriving", "delivered"];
const PICKUP = new Set(["en_route_to_pickup", "picked_up"]);
const FINISHED = new Set(["delivered", "failed", "returned", "rescheduled", "cancelled"]);

export function statusLabel(status) {
  return STATUS_LABELS[status] || status;
}

/** The statuses an order in `status` normally still goes through (none once finished). */
export function upcomingStatuses(status, seen) {
  const at = MAIN_PATH.indexOf(PICKUP.has(status) ? "assigned" : status);
  if (at < 0 || FINISHED.has(status)) return [];
  return MAIN_PATH.slice(at + 1).filter((s) => !seen.includes(s));
}

export function clockTime(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function localDay(ms) {
  const d = new Date(ms);
  return new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
}

/** "Today", "Tomorrow" or "Tue 5 Dec". */
export function dayName(iso, now) {
  const days = Math.round((localDay(Date.parse(iso)) - localDay(now)) / 86_400_000);
  if (days === 0) return "Today";
  if (days === 1) return "Tomorrow";
  return new Date(iso).toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" });
}

/** "14:32–14:40" */
export function timeRange(startIso, endIso) {
  return `${clockTime(startIso)}\u2013${clockTime(endIso)}`;
}

/** "Tomorrow, 09:00–11:00" */
export function windowText(startIso, endIso, now) {
  if (!startIso) return "To be planned";
  if (!endIso) return `${dayName(startIso, now)}, from ${clockTime(startIso)}`;
  return `${dayName(startIso, now)}, ${timeRange(startIso, endIso)}`;
}

/** Whole minutes from `now` until `iso` (rounded; never negative). */
export function minutesUntil(iso, now) {
  return Math.max(0, Math.round((Date.parse(iso) - now) / 60_000));
}

/** "7 min", "1 h 5 min", "2 h" */
export function duration(minutes) {
  if (minutes < 60) return `${minutes} min`;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return m ? `${h} h ${m} min` : `${h} h`;
}

/**
 * The live ETA, {headline: "Arriving in 7 min", range: "14:32–14:40"}, or null when there is
 * none. Within 12 hours it counts down; farther away it names the day instead.
 */
export function etaParts(view, now) {
  if (!view || !view.eta || FINISHED.has(view.status)) return null;
  const range = view.eta_window_start && view.eta_window_end
    ? timeRange(view.eta_window_start, view.eta_window_end)
    : clockTime(view.eta);
  const minutes = minutesUntil(view.eta, now);
  let headline = `Arriving in ${duration(minutes)}`;
  if (minutes > 12 * 60) headline = `Arriving ${dayName(view.eta, now)}`;
  else if (minutes < 1) headline = "Arriving any minute now";
  return { headline, range };
}

/** "Arriving in 7 min, 14:32–14:40", or null. */
export function etaText(view, now) {
  const parts = etaParts(view, now);
  return parts && `${parts.headline}, ${parts.range}`;
}

/** "Your driver has 3 stops before you" (null when unknown). */
export function stopsBeforeText(stops) {
  if (stops === null || stops === undefined) return null;
  if (stops <= 0) return "You are the driver's next stop";
  return `Your driver has ${stops} ${stops === 1 ? "stop" : "stops"} before you`;
}

/** "Dora, Blue van" */
export function driverText(view) {
  if (!view.driver_first_name) return "Not assigned yet";
  return view.driver_first_name + (view.vehicle_name ? `, ${view.vehicle_name}` : "");
}

/** The API's sentences start in lower case (they read well after "error: "); a page's don't. */
export function sentence(text) {
  if (!text) return "";
  const s = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(s) ? s : `${s}.`;
}

/**
 * The form's choice behind stored instructions (the inverse of the backend's
 * instruction_text): {option, text}.
 */
export function parseInstructions(stored) {
  const text = (stored || "").trim();
  if (!text) return { option: "none", text: "" };
  let m = /^Leave at the door(?:\. (.*))?$/s.exec(text);
  if (m) return { option: "leave_at_door", text: m[1] || "" };
  m = /^With a neighbour: (.*)$/s.exec(text);
  if (m) return { option: "with_neighbour", text: m[1] };
  m = /^Gate code: (.*)$/s.exec(text);
  if (m) return { option: "gate_code", text: m[1] };
  return { option: "note", text };
}

/** "Retrying in 20 s" / "Retrying in 2 min" */
export function retryText(seconds) {
  const s = Math.max(1, Math.ceil(seconds));
  const wait = s < 90 ? `${s} s` : `${Math.ceil(s / 60)} min`;
  return `This page tries again in ${wait}.`;
}

// Puts a tracking view on the page. Only text and visibility: the forms (forms.js) and the
// map (map.js) keep their own state, so a refresh never throws away what a customer types.

import {
  clockTime, dayName, driverText, etaParts, retryText, sentence, statusLabel, stopsBeforeText,
  upcomingStatuses, windowText,
} from "./format.js";

const $ = (id) => document.getElementById(id);
const FINISHED = new Set(["delivered", "failed", "returned", "rescheduled", "cancelled"]);
const DEFAULT_BRAND = {
  name: "Delivery tracking", colour: "#1f4fd1", text_colour: "#ffffff", logo_url: null,
};

function show(id, visible) {
  $(id).hidden = !visible;
}

function nowrap(text) {
  const span = document.createElement("span");
  span.className = "nowrap";
  span.textContent = text;
  return span;
}

function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
  el.hidden = !text;
}

export function renderBrand(brand) {
  const b = brand || DEFAULT_BRAND;
  const root = document.documentElement.style;
  root.setProperty("--brand", b.colour);
  root.setProperty("--brand-text", b.text_colour);
  $("brand-name").textContent = b.name;
  const logo = $("brand-logo");
  if (b.logo_url && logo.getAttribute("src") !== b.logo_url) {
    logo.onerror = () => { logo.hidden = true; };
    logo.onload = () => { logo.hidden = false; };
    logo.src = b.logo_url;
  } else if (!b.logo_url) {
    logo.hidden = true;
    logo.removeAttribute("src");
  }
  document.title = `Track your delivery \u2013 ${b.name}`;
}

function renderTimeline(view, now) {
  const list = $("timeline");
  const key = JSON.stringify([view.status, view.timeline, new Date(now).toDateString()]);
  if (list.dataset.key === key) return; // positions come often; the timeline rarely changes
  list.dataset.key = key;
  const seen = view.timeline.map((e) => e.status);
  const done = view.timeline.map((e, i) => {
    const li = document.createElement("li");
    li.className = "done";
    li.dataset.status = e.status;
    if (i === view.timeline.length - 1) li.setAttribute("aria-current", "step");
    li.append(statusLabel(e.status));
    const t = document.createElement("time");
    t.dateTime = e.at;
    t.textContent = `${dayName(e.at, now)} ${clockTime(e.at)}`;
    li.append(t);
    return li;
  });
  const next = upcomingStatuses(view.status, seen).map((status) => {
    const li = document.createElement("li");
    li.className = "upcoming";
    li.dataset.status = status;
    li.append(statusLabel(status));
    const later = document.createElement("span");
    later.className = "visually-hidden";
    later.textContent = " (still to come)";
    li.append(later);
    return li;
  });
  list.replaceChildren(...done, ...next);
}

function renderProof(view, now) {
  const proof = view.proof;
  show("proof", Boolean(proof));
  if (!proof) return;
  setText("proof-time", `${dayName(proof.delivered_at, now)} at ${clockTime(proof.delivered_at)}`);
  let how = "";
  if (proof.safe_place) how = "Left at a safe place.";
  else if (proof.received_by) how = `Received by ${proof.received_by}.`;
  setText("proof-how", how);
  const link = $("proof-photo-link");
  if (proof.photo_url) {
    if (link.getAttribute("href") !== proof.photo_url) {
      link.href = proof.photo_url;
      $("proof-photo").src = proof.photo_url;
    }
    link.hidden = false;
  } else {
    link.hidden = true;
  }
}

function renderRating(view) {
  const rating = view.rating;
  show("rating", Boolean(view.can_rate || rating));
  show("rating-form", Boolean(view.can_rate && !rating));
  if (rating) {
    const stars = `${rating.stars} out of 5 ${rating.stars === 1 ? "star" : "stars"}`;
    const comment = rating.comment ? ` \u201c${rating.comment}\u201d` : "";
    setText("rating-done", `You rated this delivery ${stars}.${comment} Thank you!`);
  } else {
    setText("rating-done", "");
  }
}

function renderWhen(view, now) {
  const finished = FINISHED.has(view.status);
  const eta = etaParts(view, now);
  const line = $("eta");
  line.hidden = !eta;
  if (eta && line.textContent !== `${eta.headline}, ${eta.range}`) {
    line.replaceChildren(`${eta.headline}, `, nowrap(eta.range));
  }
  // Privacy: while the driver serves other customers the API gives no position; say why.
  const stops = finished ? null : stopsBeforeText(view.stops_before);
  setText("stops-before", view.driver_first_name ? stops || "" : "");
  const planned = windowText(view.window_start, view.window_end, now);
  if ($("window").textContent !== planned) {
    const comma = planned.indexOf(", ");
    const cut = comma < 0 ? 0 : comma + 2; // keep "09:00–11:00" on one line
    $("window").replaceChildren(planned.slice(0, cut), nowrap(planned.slice(cut)));
  }
  $("driver").textContent = driverText(view);
  const pin = view.delivery_pin ? `${view.delivery_pin} (tell it to the driver at the door)` : "";
  $("pin").textContent = pin || "\u2014";
  show("pin-label", Boolean(pin));
  show("pin", Boolean(pin));
}

function renderMapText(view, now) {
  const position = view.driver_position;
  let caption = "";
  if (position) {
    const within = Math.round(position.approx_m || 100);
    const age = ageText(position.recorded_at, now);
    caption = `Driver's approximate position (within about ${within} m), ${age}.`;
  } else if (view.driver_first_name && !FINISHED.has(view.status)) {
    caption =
      view.stops_before === 0
        ? "The driver's position shows here as soon as their phone sends it."
        : "The driver's position shows here once you are their current or next stop.";
  }
  setText("map-caption", caption);
  $("map-notice").textContent =
    "The map background is unavailable. The map still shows your address (pin)" +
    (position ? " and the driver's approximate position (round marker)." : ".");
}

function ageText(iso, now) {
  const minutes = Math.floor((now - Date.parse(iso)) / 60_000);
  return minutes < 1 ? "updated just now" : `updated at ${clockTime(iso)}`;
}

function renderDelivery(view) {
  $("recipient").textContent = view.recipient_name;
  $("address").textContent = view.address;
  $("instructions").textContent = view.instructions || "None";
  show("instructions-edit", Boolean(view.can_change_instructions));
  if (!view.can_change_instructions) show("instructions-form", false);
  const refusal = view.can_change_window ? "" : sentence(view.window_change_refusal || "");
  setText("reschedule-refusal", refusal);
  show("reschedule-open", Boolean(view.can_change_window));
  if (!view.can_change_window) show("reschedule-form", false);
  const stillOpen = !FINISHED.has(view.status);
  show("reschedule", Boolean(view.can_change_window || (refusal && stillOpen)));
}

/** The whole view; `now` in epoch ms. */
export function renderView(view, now) {
  renderBrand(view.brand);
  $("status").textContent = statusLabel(view.status);
  $("status").dataset.status = view.status;
  const reference = view.order_reference;
  $("title").textContent = reference ? `Delivery ${reference}` : "Your delivery";
  renderProof(view, now);
  renderRating(view);
  renderWhen(view, now);
  renderMapText(view, now);
  renderTimeline(view, now);
  renderDelivery(view);
  show("map-section", !FINISHED.has(view.status));
  show("when", view.status !== "delivered"); // the proof says when
  const until = `${dayName(view.expires_at, now)}, ${clockTime(view.expires_at)}`;
  setText("expires", `This link works until ${until}.`);
  show("error", false);
  show("details", true);
}

/** Only what changes as time passes (the countdown, the position's age). */
export function renderClock(view, now) {
  renderWhen(view, now);
  renderMapText(view, now);
}

const ERROR_HINTS = {
  not_found:
    "Check that you opened the whole link from your message, or ask the sender for a new one.",
};

const ERROR_TITLES = {
  not_found: "This tracking link does not exist",
  link_expired: "This tracking link has expired",
  too_many_guesses: "Too many attempts",
  unreachable: "Cannot reach the server",
};

/** A page that shows no order: the link is unknown or expired, or the server refuses. */
export function renderError(error, retryInSeconds = null) {
  $("title").textContent = "Your delivery";
  $("status").textContent = "Tracking unavailable";
  $("status").dataset.status = "unavailable";
  $("error").dataset.code = error.code;
  const title = ERROR_TITLES[error.code] || "Tracking unavailable";
  $("error-title").textContent = title;
  // "this tracking link has expired; ask the sender for a new one": say only what is new.
  let detail = error.message || "";
  if (detail.toLowerCase().startsWith(title.toLowerCase())) {
    detail = detail.slice(title.length).replace(/^[\s;:,.]+/, "");
  }
  if (retryInSeconds) detail = detail.replace(/[;,]?\s*try again in \d+ s\.?$/i, ""); // below
  $("error-message").textContent = sentence(detail || ERROR_HINTS[error.code] || "");
  setText("error-retry", retryInSeconds ? retryText(retryInSeconds) : "");
  show("error", true);
  show("details", false);
  show("connection", false);
  setText("expires", "");
}

const BANNERS = {
  reconnecting: "Connection lost. Reconnecting\u2026",
  polling: "Live updates are unavailable. This page refreshes every 30 seconds.",
  offline: "Connection lost. This page keeps trying and updates when it is back.",
};

export function renderConnection(state) {
  const banner = $("connection");
  banner.dataset.state = state;
  banner.textContent = BANNERS[state] || "";
  banner.hidden = !BANNERS[state];
}

export function showMapNotice(visible) {
  show("map-notice", visible);
}

// The tracking page: reads the token from /t/{token}, shows the order, keeps it live.

import { ApiError, trackingApi } from "./api.js";
import { LiveView } from "./live.js";
import { TrackingMap } from "./map.js";
import { renderClock, renderConnection, renderError, renderView, showMapNotice } from "./render.js";
import { setupForms } from "./forms.js";

const FINISHED = new Set(["delivered", "failed", "returned", "rescheduled", "cancelled"]);
const CLOCK_MS = 15_000; // the countdown and the position's age move on this often
const MAX_RETRY_S = 600;

const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
const api = trackingApi(token);
const map = new TrackingMap(document.getElementById("map"), (ok) => showMapNotice(!ok));
let view = null;

function show(next) {
  view = next;
  renderView(view, Date.now());
  if (!FINISHED.has(view.status)) map.show(view);
  if (!performance.getEntriesByName("first-view").length) performance.mark("first-view");
}

function patch(changes) {
  if (!view) return;
  show({ ...view, ...changes });
}

function onFrame(frame) {
  if (!view) return;
  if (frame.type === "order_event") {
    if (frame.to_status) {
      const timeline = [...view.timeline, { status: frame.to_status, at: frame.at }];
      patch({ status: frame.to_status, timeline });
    }
    live.refreshSoon(); // the rest follows from the status: ETA, proof, what may change
  } else if (frame.type === "eta") {
    // Read the view rather than take the frame's time: a pickup stop's ETA comes on the same
    // channel, and the view has the range ("14:32–14:40") and the stops before this one.
    live.refreshSoon(0);
  } else if (frame.type === "order_deleted") {
    live.refreshSoon(0); // the link is gone with the order: the page says so
  } else if (frame.type === "driver_position") {
    patch({ driver_position: frame.position });
    if (!frame.position) live.refreshSoon(); // how many stops before this one now
  }
}

let retryTimer = null;

function onFatal(error) {
  view = null;
  const limited = error.code === "too_many_guesses";
  const wait = limited ? Math.min(error.retryAfter || 60, MAX_RETRY_S) : null;
  renderError(error, wait);
  if (wait) {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(() => live.start(), wait * 1000);
  }
}

function onState(state) {
  if (state === "offline" && !view) {
    renderError(new ApiError(0, "unreachable", "Check your connection: this page keeps trying."));
    return;
  }
  renderConnection(state);
}

const live = new LiveView(api, { onView: show, onFrame, onState, onFatal });

setupForms({
  api,
  view: () => view,
  changed: (changes) => {
    patch(changes);
    live.refreshSoon(0);
  },
  now: () => Date.now(),
});
setInterval(() => view && renderClock(view, Date.now()), CLOCK_MS);
live.start();

"use strict";
// Skeleton of the tracking page: reads the token from /t/{token}, shows the order.
// Live map, WebSocket updates and the reschedule flow arrive with the tracking issue.
(function () {
  const LABELS = {
    created: "Order received", assigned: "Driver assigned",
    en_route_to_pickup: "Driver heading to pickup", picked_up: "Parcel picked up",
    en_route: "On its way", arriving: "Arriving soon", delivered: "Delivered",
    failed: "Delivery attempt failed", returned: "Returned to sender",
    rescheduled: "Rescheduled", cancelled: "Cancelled",
  };
  const $ = (id) => document.getElementById(id);
  const token = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "");
  const fmtTime = (iso) => new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  const fmtDay = (iso) => new Date(iso).toLocaleDateString([], { weekday: "short", day: "numeric", month: "short" });

  function showError(message) {
    // Forget a previously shown order: a link can stop working while the page is open.
    $("title").textContent = "Your delivery";
    $("status").textContent = "Tracking unavailable";
    $("status").dataset.status = "unavailable";
    $("error").textContent = message;
    $("error").hidden = false;
    $("details").hidden = true;
  }

  function render(v) {
    $("status").textContent = LABELS[v.status] || v.status;
    $("status").dataset.status = v.status;
    $("title").textContent = v.order_reference ? `Delivery ${v.order_reference}` : "Your delivery";
    $("recipient").textContent = v.recipient_name;
    $("address").textContent = v.address;
    $("window").textContent = v.window_start
      ? `${fmtDay(v.window_start)}, ${fmtTime(v.window_start)}–${fmtTime(v.window_end)}` : "To be planned";
    $("driver").textContent = v.driver_first_name
      ? v.driver_first_name + (v.vehicle_name ? ` (${v.vehicle_name})` : "") : "Not assigned yet";
    $("instructions").textContent = v.instructions || "None";
    $("pin").textContent = v.delivery_pin ? `${v.delivery_pin} (tell it to the driver at the door)` : "—";
    const list = $("timeline");
    list.replaceChildren(...v.timeline.map((e) => {
      const li = document.createElement("li");
      li.dataset.status = e.status;
      li.textContent = LABELS[e.status] || e.status;
      const t = document.createElement("time");
      t.dateTime = e.at;
      t.textContent = `${fmtDay(e.at)} ${fmtTime(e.at)}`;
      li.append(t);
      return li;
    }));
    $("error").hidden = true;
    $("details").hidden = false;
  }

  async function load() {
    try {
      const r = await fetch(`/api/v1/track/${encodeURIComponent(token)}`, { cache: "no-store" });
      const body = await r.json();
      if (!r.ok) { showError(body.error ? body.error.message : `Error ${r.status}`); return; }
      render(body);
    } catch (err) {
      showError("Cannot reach the server. Retrying…");
    }
  }
  load();
  setInterval(load, 30000);
})();

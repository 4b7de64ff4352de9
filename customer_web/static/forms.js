// What a customer can do on the page: change the delivery instructions, choose another
// delivery time among the offered slots, rate a delivered order. Plain forms: usable with a
// keyboard alone, labelled, and every answer (or refusal) is said in a live region.

import { dayName, parseInstructions, sentence, timeRange } from "./format.js";

const $ = (id) => document.getElementById(id);

// The text field that goes with each choice (none: no text).
const TEXT_FIELD = {
  none: null,
  leave_at_door: { label: "Anything else for the driver? (optional)", required: false },
  with_neighbour: { label: "Which neighbour (name or door)", required: true },
  gate_code: { label: "Gate code", required: true },
  note: { label: "Note for the driver", required: true },
};

function say(id, text, kind = "ok") {
  const el = $(id);
  el.textContent = text;
  el.dataset.kind = kind;
}

function disclose(button, form, open) {
  form.hidden = !open;
  button.setAttribute("aria-expanded", String(open));
}

async function sending(form, work) {
  const buttons = form.querySelectorAll("button");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    return await work();
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

/**
 * Wire the forms. `view()` gives the current view; `changed(patch)` is told what an answer
 * changed (merged into the view at once) and reloads the rest.
 */
export function setupForms({ api, view, changed, now }) {
  setupInstructions(api, view, changed);
  setupReschedule(api, changed, now);
  setupRating(api, changed);
}

function setupInstructions(api, view, changed) {
  const button = $("instructions-edit");
  const form = $("instructions-form");
  const text = $("instructions-text");
  const radios = () => [...form.elements.option];

  const fitText = () => {
    const choice = form.elements.option.value;
    const field = TEXT_FIELD[choice];
    $("instructions-text-label").hidden = !field;
    text.hidden = !field;
    if (!field) return;
    $("instructions-text-label").textContent = field.label;
    text.required = field.required;
  };
  const close = () => {
    disclose(button, form, false);
    button.focus();
  };

  button.addEventListener("click", () => {
    const current = parseInstructions(view().instructions);
    radios().forEach((r) => { r.checked = r.value === current.option; });
    text.value = current.text;
    fitText();
    say("instructions-result", "");
    disclose(button, form, true);
    radios().find((r) => r.checked).focus();
  });
  form.addEventListener("change", (event) => event.target.name === "option" && fitText());
  form.addEventListener("input", () => say("instructions-result", ""));
  $("instructions-cancel").addEventListener("click", close);
  form.addEventListener("keydown", (event) => event.key === "Escape" && close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const option = form.elements.option.value;
    const field = TEXT_FIELD[option];
    const words = field ? text.value.trim() : "";
    text.removeAttribute("aria-invalid");
    if (field && field.required && !words) {
      say("instructions-result", `Please fill in: ${field.label}.`, "error");
      text.setAttribute("aria-invalid", "true");
      text.focus();
      return;
    }
    try {
      const result = await sending(form, () => api.changeInstructions(option, words));
      if (result.outcome === "applied") {
        say("instructions-result", "Your instructions were saved. The driver sees them.");
        changed({ instructions: result.instructions });
      } else {
        say("instructions-result", sentence(result.message));
        changed({});
      }
      close();
    } catch (err) {
      say("instructions-result", sentence(err.message), "error");
      if (err.status === 409) {
        close();
        changed({});
      }
    }
  });
}

function setupReschedule(api, changed, now) {
  const button = $("reschedule-open");
  const form = $("reschedule-form");
  const select = $("slot");
  let offered = [];
  const close = () => {
    disclose(button, form, false);
    button.focus();
  };

  button.addEventListener("click", async () => {
    say("reschedule-result", "Looking for other times\u2026");
    try {
      offered = await api.slots();
    } catch (err) {
      say("reschedule-result", sentence(err.message), "error");
      return;
    }
    if (!offered.length) {
      say("reschedule-result", "No other delivery times are available now.", "error");
      return;
    }
    const groups = new Map();
    offered.forEach((slot, index) => {
      const day = dayName(slot.start, now());
      if (!groups.has(day)) {
        const group = document.createElement("optgroup");
        group.label = day;
        groups.set(day, group);
      }
      groups.get(day).append(new Option(timeRange(slot.start, slot.end), String(index)));
    });
    select.replaceChildren(...groups.values());
    say("reschedule-result", "");
    disclose(button, form, true);
    select.focus();
  });
  $("reschedule-cancel").addEventListener("click", close);
  form.addEventListener("keydown", (event) => event.key === "Escape" && close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const slot = offered[Number(select.value)];
    if (!slot) return;
    try {
      const result = await sending(form, () => api.changeWindow(slot.start, slot.end));
      const day = dayName(result.window_start, now());
      const when = `${day}, ${timeRange(result.window_start, result.window_end)}`;
      say("reschedule-result", `Your delivery time is now ${when}.`);
      changed({ window_start: result.window_start, window_end: result.window_end });
      close();
    } catch (err) {
      say("reschedule-result", sentence(err.message), "error");
      if (err.status === 409) {
        close();
        changed({});
      }
    }
  });
}

function setupRating(api, changed) {
  const form = $("rating-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const stars = Number(form.elements.stars.value);
    if (!stars) {
      say("rating-result", "Choose from 1 to 5 stars.", "error");
      form.elements.stars[0].focus();
      return;
    }
    try {
      const rating = await sending(form, () => api.rate(stars, $("rating-comment").value.trim()));
      say("rating-result", "");
      changed({ rating, can_rate: false });
      $("rating-done").focus();
    } catch (err) {
      say("rating-result", sentence(err.message), "error");
      if (err.status === 409) changed({});
    }
  });
}

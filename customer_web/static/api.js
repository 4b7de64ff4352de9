// The tracking API, for one token: every call names only this page's own order.

export class ApiError extends Error {
  /** status 0: the server could not be reached. retryAfter: seconds (429). */
  constructor(status, code, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export function trackingApi(token) {
  const base = `/api/v1/track/${encodeURIComponent(token)}`;

  async function call(path, { method = "GET", body } = {}) {
    let response;
    try {
      response = await fetch(base + path, {
        method,
        cache: "no-store",
        headers: body === undefined ? {} : { "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(0, "unreachable", "Cannot reach the server.");
    }
    let payload = null;
    try {
      payload = await response.json();
    } catch (err) {
      payload = null;
    }
    if (response.ok) return payload;
    const error = (payload && payload.error) || {};
    const retryAfter = Number(response.headers.get("Retry-After")) ||
      (error.details && error.details.retry_after_s) || null;
    throw new ApiError(response.status, error.code || `http_${response.status}`,
      error.message || `The server answered ${response.status}.`, retryAfter);
  }

  return {
    socketUrl: `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${base}/ws`,
    eventsUrl: `${base}/events`, // the same messages as Server-Sent Events
    view: () => call(""),
    slots: () => call("/slots"),
    changeInstructions: (option, text) =>
      call("/instructions", { method: "PUT", body: { option, text } }),
    changeWindow: (start, end) => call("/window", { method: "PUT", body: { start, end } }),
    rate: (stars, comment) => call("/rating", { method: "POST", body: { stars, comment } }),
  };
}

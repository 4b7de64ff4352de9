// Live updates for one tracking link.
//
// The view is read over HTTP first, then the tracking WebSocket is opened: it says hello, sends
// a snapshot (the same view), then order events, ETAs and the driver's approximate position. A
// socket that closes is reopened with exponential backoff (1 s, 2 s, 4 s ... 30 s, jittered).
// After two attempts in a row that never said hello (a proxy that blocks WebSockets, a server
// restarting) the same messages are read as Server-Sent Events (EventSource on .../events),
// which reconnects by itself and resumes from the last order event it had. Only when that
// fails too (never says hello) is the view polled over HTTP every 30 s, while sockets are
// tried again with backoff, until one says hello.
// Close codes: 4404, 4410 and 4429 mean the link stopped working: HTTP says why. 4008 means
// the page read too slowly and lost frames: read the view over HTTP and reconnect at once.

export const STATES = {
  connecting: "connecting", // before the first socket said hello
  live: "live", // a socket is open and said hello
  reconnecting: "reconnecting", // the socket was lost; trying again
  polling: "polling", // sockets keep failing: reading over HTTP every 30 s
  offline: "offline", // HTTP fails too
};

const CLOSE_GONE = new Set([4404, 4410, 4429]);
const CLOSE_TOO_SLOW = 4008;
// The event stream's event names: the frames' types (see backend/locations/sse.py).
const STREAM_EVENTS = ["hello", "snapshot", "order_event", "driver_position", "eta",
  "order_deleted", "reload", "closed"];

/** A socket's or stream's message as a frame; null if it is not JSON (ignored). */
function parseFrame(data) {
  try {
    return JSON.parse(data);
  } catch (err) {
    return null;
  }
}

export class LiveView {
  constructor(api, handlers, options = {}) {
    this.api = api;
    this.handlers = handlers; // onView(view), onFrame(frame), onState(state), onFatal(ApiError)
    this.pollMs = options.pollMs ?? 30_000;
    this.maxBackoffMs = options.maxBackoffMs ?? 30_000;
    this.attemptsBeforePolling = options.attemptsBeforePolling ?? 2;
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
    this.safetyRefreshMs = options.safetyRefreshMs ?? 300_000; // while live: derived fields
    this.state = STATES.connecting;
    this.socket = null;
    this.events = null; // the EventSource, once sockets failed
    this.eventsFailed = false; // it never said hello: poll instead, until a socket works
    this.failures = 0;
    this.timers = {};
    this.stopped = true;
    this.wake = () => {
      if (document.visibilityState === "visible" && !this.stopped && !this.socket &&
          !this.events) {
        this.connect();
        this.load();
      }
    };
  }

  async start() {
    this.stopped = false;
    this.failures = 0;
    this.setState(STATES.connecting);
    document.addEventListener("visibilitychange", this.wake);
    window.addEventListener("online", this.wake);
    const loaded = await this.load();
    if (loaded !== "fatal") this.connect();
  }

  stop() {
    this.stopped = true;
    for (const key of Object.keys(this.timers)) {
      clearTimeout(this.timers[key]);
      clearInterval(this.timers[key]);
    }
    this.timers = {};
    document.removeEventListener("visibilitychange", this.wake);
    window.removeEventListener("online", this.wake);
    const socket = this.socket;
    this.socket = null;
    if (socket) socket.close(1000, "page done");
    this.closeEvents();
  }

  /** Read the view over HTTP: "ok", "offline" or "fatal" (the link stopped working). */
  async load() {
    try {
      const view = await this.api.view();
      if (this.stopped) return "fatal";
      if (this.state === STATES.offline) {
        this.setState(this.timers.poll ? STATES.polling : STATES.reconnecting);
      }
      this.handlers.onView(view);
      return "ok";
    } catch (err) {
      if (this.stopped) return "fatal";
      if (err.status === 0) {
        if (this.state !== STATES.live) this.setState(STATES.offline);
        return "offline";
      }
      this.stop();
      this.handlers.onFatal(err);
      return "fatal";
    }
  }

  /** Read the view over HTTP in `delayMs`, once however often it is asked meanwhile. */
  refreshSoon(delayMs = 250) {
    if (this.stopped || this.timers.refresh) return;
    this.timers.refresh = setTimeout(() => {
      this.timers.refresh = null;
      this.load();
    }, delayMs);
  }

  setState(state) {
    if (state === this.state) return;
    this.state = state;
    this.handlers.onState(state);
  }

  connect() {
    if (this.stopped || this.socket) return;
    clearTimeout(this.timers.reconnect);
    let socket;
    try {
      socket = new WebSocket(this.api.socketUrl);
    } catch (err) {
      this.socketFailed(false);
      return;
    }
    this.socket = socket;
    let greeted = false;
    const helloTimer = setTimeout(() => greeted || socket.close(), this.helloTimeoutMs);
    socket.onmessage = (event) => {
      const frame = parseFrame(event.data);
      if (!frame) return;
      if (frame.type === "hello") {
        greeted = true;
        clearTimeout(helloTimer);
        this.failures = 0;
        this.eventsFailed = false;
        this.closeEvents(); // a socket works again: it takes over
      }
      this.receive(frame);
    };
    socket.onclose = (event) => {
      clearTimeout(helloTimer);
      if (this.socket !== socket) return; // stopped, or replaced
      this.socket = null;
      clearInterval(this.timers.safety);
      if (this.stopped) return;
      if (CLOSE_GONE.has(event.code)) {
        this.load().then((loaded) => loaded === "fatal" || this.socketFailed(greeted));
      } else if (event.code === CLOSE_TOO_SLOW) {
        this.load();
        this.timers.reconnect = setTimeout(() => this.connect(), 0);
      } else {
        this.socketFailed(greeted);
      }
    };
  }

  /** A frame from either transport. */
  receive(frame) {
    if (frame.type === "hello") {
      this.stopPolling();
      this.setState(STATES.live);
      clearInterval(this.timers.safety);
      this.timers.safety = setInterval(() => this.load(), this.safetyRefreshMs);
    } else if (frame.type === "snapshot") {
      this.handlers.onView(frame.view);
    } else if (frame.type === "reload") {
      this.load(); // too many events were missed to replay them
    } else {
      this.handlers.onFrame(frame);
    }
  }

  /** Read the messages as Server-Sent Events; false if that already failed. */
  openEvents() {
    if (this.stopped || this.events) return !!this.events;
    if (this.eventsFailed || typeof EventSource === "undefined") return false;
    const events = new EventSource(this.api.eventsUrl);
    this.events = events;
    let greeted = false;
    const failed = () => {
      if (this.events !== events) return;
      this.closeEvents();
      this.eventsFailed = true;
      this.socketFailed(false); // poll, and keep trying sockets
    };
    const helloTimer = setTimeout(() => greeted || failed(), this.helloTimeoutMs);
    for (const type of STREAM_EVENTS) {
      events.addEventListener(type, (event) => {
        const frame = this.events === events && parseFrame(event.data);
        if (!frame) return;
        if (frame.type === "hello") {
          greeted = true;
          clearTimeout(helloTimer);
        }
        if (frame.type !== "closed") {
          this.receive(frame);
        } else if (CLOSE_GONE.has(frame.code)) {
          events.close(); // the link stopped working: HTTP says why
          this.load().then((loaded) => loaded === "fatal" || failed());
        } // otherwise (too slow) it reconnects by itself, resuming where it was
      });
    }
    events.onerror = () => {
      if (this.events !== events) return;
      if (!greeted || events.readyState === EventSource.CLOSED) {
        clearTimeout(helloTimer);
        failed();
      } else {
        // Lost: the browser reconnects by itself with Last-Event-ID.
        clearInterval(this.timers.safety);
        this.setState(STATES.reconnecting);
      }
    };
    return true;
  }

  closeEvents() {
    const events = this.events;
    this.events = null;
    if (events) events.close();
  }

  socketFailed(wasLive) {
    if (this.stopped) return;
    this.failures = wasLive ? 1 : this.failures + 1;
    if (this.failures >= this.attemptsBeforePolling && this.openEvents()) {
      return; // sockets are tried again only if the event stream fails too
    }
    if (this.failures >= this.attemptsBeforePolling) {
      this.startPolling();
    } else if (this.state !== STATES.polling && this.state !== STATES.offline) {
      this.setState(STATES.reconnecting);
    }
    const backoff = Math.min(this.maxBackoffMs, 1000 * 2 ** (this.failures - 1));
    this.timers.reconnect = setTimeout(() => this.connect(), backoff * (0.5 + Math.random() / 2));
  }

  startPolling() {
    if (this.timers.poll) return;
    this.timers.poll = setInterval(() => this.load(), this.pollMs);
    if (this.state !== STATES.offline) this.setState(STATES.polling);
    this.load(); // at once: events may have been missed since the socket was lost
  }

  stopPolling() {
    clearInterval(this.timers.poll);
    this.timers.poll = null;
  }
}

/* LiveClient: the live room's connection (docs/live-transport.md, docs/live-protocol.md).
 *
 *   const client = new LiveClient({socketPath: "/ws/live/42/", ticketUrl: "/api/v1/auth/ws-ticket/",
 *                                  csrfToken: () => "..."});
 *   client.on("snapshot", (frame) => ...);      // any frame type; "*" gets every frame
 *   client.on("status", (status, detail) => ...); // connecting | open | reconnecting | closed | signed-out
 *   client.send({type: "chat.send", id: "c1", text: "..."});  // false while not connected
 *   client.close();
 *
 * What it does for the page: fetches a single-use ticket (POST ticketUrl, same-origin session),
 * opens the socket, remembers the last room sequence number it saw and the sequence's epoch (from
 * the snapshot), and after a drop reconnects with jittered exponential backoff
 * (0.5-1 x min(30 s, 0.5 s x 2^attempt)) and ?last_seq=N&epoch=E, so the server resends what was
 * missed, or a fresh snapshot if that is gone or the room's sequence restarted (another epoch). Batches ({"type": "batch", items})
 * are unpacked: each item is dispatched as its own frame. A frame whose seq is not newer than
 * the last one seen is dropped (never shown twice); a snapshot resets the sequence.
 * Close codes in stopCodes (banned, forbidden, no such lecture) end it for good.
 */
(function (global) {
  "use strict";

  const DEFAULT_STOP_CODES = [4003, 4403, 4404];

  class LiveClient {
    constructor(options) {
      this.socketPath = options.socketPath;
      this.ticketUrl = options.ticketUrl || "/api/v1/auth/ws-ticket/";
      this.csrfToken = options.csrfToken || (() => "");
      this.stopCodes = options.stopCodes || DEFAULT_STOP_CODES;
      this.maxBackoffMs = options.maxBackoffMs || 30000;
      this.handlers = new Map();
      this.socket = null;
      this.lastSeq = null;
      this.epoch = null; // the epoch of lastSeq's sequence, from the last snapshot
      this.attempt = 0;
      this.stopped = false;
      this.timer = null;
      if (options.autoConnect !== false) this.connect();
    }

    on(type, fn) {
      if (!this.handlers.has(type)) this.handlers.set(type, []);
      this.handlers.get(type).push(fn);
      return this;
    }

    emit(type, ...args) {
      for (const fn of this.handlers.get(type) || []) {
        try {
          fn(...args);
        } catch (error) {
          console.error(error); // one broken handler must not stop the others
        }
      }
    }

    send(frame) {
      if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
      this.socket.send(JSON.stringify(frame));
      return true;
    }

    close() {
      this.stopped = true;
      clearTimeout(this.timer);
      if (this.socket) this.socket.close(1000);
      this.emit("status", "closed", 1000);
    }

    async connect() {
      if (this.stopped) return;
      this.emit("status", this.attempt ? "reconnecting" : "connecting");
      let ticket;
      try {
        const response = await fetch(this.ticketUrl, {
          method: "POST", credentials: "same-origin", headers: {"X-CSRFToken": this.csrfToken()},
        });
        if (response.status === 401 || response.status === 403) {
          this.stopped = true;
          this.emit("status", "signed-out", response.status);
          return;
        }
        if (!response.ok) throw new Error(`ticket: HTTP ${response.status}`);
        ticket = (await response.json()).ticket;
      } catch (error) {
        this.retry();
        return;
      }
      const scheme = global.location.protocol === "https:" ? "wss" : "ws";
      const query = new URLSearchParams({ticket});
      if (this.lastSeq !== null && this.epoch !== null) {
        query.set("last_seq", String(this.lastSeq));
        query.set("epoch", this.epoch);
      }
      const socket = new WebSocket(`${scheme}://${global.location.host}${this.socketPath}?${query}`);
      this.socket = socket;
      const resuming = query.has("last_seq");
      socket.onopen = () => this.emit("status", "open", resuming);
      socket.onmessage = (event) => this.receive(event.data);
      socket.onclose = (event) => {
        if (this.socket !== socket) return;
        this.socket = null;
        if (this.stopped) return;
        if (this.stopCodes.includes(event.code)) {
          this.stopped = true;
          this.emit("status", "closed", event.code, event.reason);
          return;
        }
        this.emit("status", "reconnecting", event.code, event.reason);
        this.retry();
      };
    }

    retry() {
      if (this.stopped) return;
      this.attempt += 1;
      const ceiling = Math.min(this.maxBackoffMs, 500 * 2 ** this.attempt);
      this.timer = setTimeout(() => this.connect(), ceiling * (0.5 + Math.random() / 2));
    }

    receive(data) {
      let frame;
      try {
        frame = JSON.parse(data);
      } catch (error) {
        return;
      }
      this.attempt = 0; // a working connection: the next drop starts the backoff again
      if (frame.type === "batch" && Array.isArray(frame.items)) {
        for (const item of frame.items) this.dispatch(item);
        return;
      }
      this.dispatch(frame);
    }

    dispatch(frame) {
      if (frame.type === "snapshot") {
        // A snapshot starts a sequence over: its seq and epoch replace what was remembered.
        this.lastSeq = typeof frame.seq === "number" ? frame.seq : null;
        this.epoch = typeof frame.epoch === "string" ? frame.epoch : null;
      } else if (typeof frame.seq === "number") {
        if (this.lastSeq !== null && frame.seq <= this.lastSeq) return; // already seen
        this.lastSeq = frame.seq;
      }
      this.emit(frame.type, frame);
      this.emit("*", frame);
    }
  }

  global.LiveClient = LiveClient;
})(window);

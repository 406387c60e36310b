/*
 * Run pages, live over WebSockets (contract section 5) instead of polling.
 *
 * An element with data-live-socket="/ws/runs/{id}/" (or /ws/workspaces/{slug}/)
 * and data-live-refresh="<url of its htmx partial>" is re-fetched (htmx,
 * outerHTML swap of that element) when events arrive: at most one request in
 * flight and at most one every 300 ms, however many events came. The socket
 * authenticates with the session cookie, sends {"since": last seq} on every
 * reconnect (so nothing is missed while it was away: the server replays it,
 * and the page refreshes), and reconnects with backoff unless the server
 * closed it for good (4401 signed out, 4403, 4404).
 */
(function () {
  "use strict";
  var FINAL = { 4401: true, 4403: true, 4404: true };
  var MIN_GAP_MS = 300;
  var watchers = {};

  function wsUrl(path) {
    return (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  }

  function Watcher(path) {
    this.path = path;
    this.cursors = {};
    this.attempt = 0;
    this.busy = false;
    this.again = false;
    this.last = 0;
    this.timer = null;
    this.open();
  }

  Watcher.prototype.element = function () {
    return document.querySelector('[data-live-socket="' + this.path + '"]');
  };

  Watcher.prototype.open = function () {
    var self = this;
    var socket = new WebSocket(wsUrl(this.path));
    this.socket = socket;
    socket.onopen = function () {
      self.attempt = 0;
      var runs = Object.keys(self.cursors);
      if (self.path.indexOf("/ws/runs/") === 0) {
        socket.send(JSON.stringify({ since: runs.length ? self.cursors[runs[0]] : Number(self.element().dataset.liveSince || 0) }));
      } else if (self.reconnected) {
        self.refresh(); // no replay on this socket: re-read the page once
      }
      self.reconnected = true;
      self.setState("live");
    };
    socket.onmessage = function (message) {
      var event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (typeof event.seq !== "number") return;
      if (event.seq <= (self.cursors[event.run_id] || 0)) return;
      self.cursors[event.run_id] = event.seq;
      self.refresh();
    };
    socket.onclose = function (closed) {
      if (self.socket !== socket) return;
      if (FINAL[closed.code] || !self.element()) {
        self.setState("closed");
        delete watchers[self.path];
        return;
      }
      self.setState("offline");
      var ceiling = Math.min(10000, 250 * Math.pow(2, self.attempt++));
      setTimeout(function () { self.open(); }, ceiling / 2 + Math.random() * ceiling / 2);
    };
  };

  Watcher.prototype.setState = function (state) {
    var el = this.element();
    if (el) el.setAttribute("data-live-state", state);
  };

  Watcher.prototype.refresh = function () {
    var self = this;
    if (this.busy) { this.again = true; return; }
    var wait = this.last + MIN_GAP_MS - Date.now();
    if (wait > 0) {
      if (!this.timer) this.timer = setTimeout(function () { self.timer = null; self.refresh(); }, wait);
      return;
    }
    var el = this.element();
    if (!el || !window.htmx) return;
    this.busy = true;
    this.last = Date.now();
    window.htmx
      .ajax("GET", el.dataset.liveRefresh || location.pathname + location.search, { target: el, swap: "outerHTML" })
      .finally(function () {
        self.busy = false;
        if (self.again) { self.again = false; self.refresh(); }
      });
  };

  function scan() {
    var seen = {};
    document.querySelectorAll("[data-live-socket]").forEach(function (el) {
      var path = el.dataset.liveSocket;
      seen[path] = true;
      if (!watchers[path] && el.dataset.liveActive !== "false") watchers[path] = new Watcher(path);
      else if (watchers[path]) el.setAttribute("data-live-state", "live");
    });
    Object.keys(watchers).forEach(function (path) {
      if (!seen[path]) {
        var watcher = watchers[path];
        delete watchers[path];
        watcher.socket.close(1000);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", scan);
  document.addEventListener("htmx:afterSettle", scan);
})();

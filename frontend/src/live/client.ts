/**
 * The live-events client of contract section 5.
 *
 * - connects to `/ws/runs/{id}/` (or `/ws/workflows/{id}/`); the browser sends
 *   the session cookie, so no token ever sits in page script;
 * - on every (re)connect sends `{"since": cursor}`: the server replays what
 *   was missed from the database, then goes live, with no gap and no
 *   duplicate; the client drops anything at or below its cursor anyway;
 * - reconnects with exponential backoff and jitter, unless the server closed
 *   with 4401/4403/4404 (signed out, not allowed, not visible): those are final;
 * - hands events over once per animation frame, as one batch, so a burst of a
 *   thousand events costs one render;
 * - asks for batches (`?batch=1`, Baton's extension of the contract): the
 *   server sends the events of one transaction as one JSON array instead of
 *   one message each, which at a thousand events a second costs the page a
 *   fraction of the socket work. A plain event message is still understood.
 */

export interface LiveEvent {
  seq: number;
  kind: "run" | "step";
  run_id: string;
  node_id: string | null;
  visit: number | null;
  status: string;
  at: string;
  [extra: string]: unknown;
}

/** Presence and revision notices of the workflow socket. */
export interface LiveNotice {
  kind: "presence" | "revision" | "error";
  [field: string]: unknown;
}

export type LiveState = "connecting" | "live" | "offline" | "closed";

export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number): void;
}

export interface LiveOptions {
  url: string;
  /** Called at most once per frame with the new events, in order. */
  onEvents: (events: LiveEvent[]) => void;
  onNotice?: (notice: LiveNotice) => void;
  onState?: (state: LiveState, closeCode?: number) => void;
  /** seq already shown (e.g. from GET /api/v1/runs/{id}/ events); 0 = everything. */
  since?: number;
  /** Test seams. */
  socket?: (url: string) => SocketLike;
  frame?: (callback: () => void) => unknown;
  timer?: (callback: () => void, ms: number) => unknown;
  random?: () => number;
}

/** Close codes after which reconnecting cannot help. */
export const FINAL_CODES = new Set([4401, 4403, 4404]);
const BACKOFF_START_MS = 250;
const BACKOFF_MAX_MS = 10_000;

export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** `ws(s)://host/ws/runs/{id}/` from the page's location (or an explicit base). */
export function liveUrl(path: string, base?: string): string {
  if (base) return base.replace(/\/$/, "") + path;
  const { protocol, host } = window.location;
  return `${protocol === "https:" ? "wss:" : "ws:"}//${host}${path}`;
}

export class LiveConnection {
  /** last seq delivered, per run */
  readonly cursors = new Map<string, number>();
  private socket: SocketLike | null = null;
  private pending: LiveEvent[] = [];
  private frameRequested = false;
  private attempt = 0;
  private stopped = false;
  private readonly options: LiveOptions;

  constructor(options: LiveOptions) {
    this.options = options;
  }

  start(): this {
    this.stopped = false;
    this.open();
    return this;
  }

  stop(): void {
    this.stopped = true;
    this.socket?.close(1000);
    this.socket = null;
    this.options.onState?.("closed");
  }

  private open(): void {
    const make = this.options.socket ?? ((url: string) => new WebSocket(url) as unknown as SocketLike);
    const socket = make(batched(this.options.url));
    this.socket = socket;
    this.options.onState?.("connecting");
    socket.onopen = () => {
      this.attempt = 0;
      socket.send(JSON.stringify({ since: this.sinceMessage() }));
      this.options.onState?.("live");
    };
    socket.onmessage = (ev) => this.receive(ev.data);
    socket.onerror = () => undefined; // onclose follows and decides
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      if (FINAL_CODES.has(ev.code)) {
        this.options.onState?.("closed", ev.code);
        return;
      }
      this.options.onState?.("offline", ev.code);
      const wait = backoffMs(this.attempt++, this.options.random);
      (this.options.timer ?? setTimeout)(() => {
        if (!this.stopped) this.open();
      }, wait);
    };
  }

  /** A run socket takes a number; a workflow socket a map of run id to seq. */
  private sinceMessage(): number | Record<string, number> {
    if (this.options.url.includes("/ws/runs/")) {
      const [only] = this.cursors.values();
      return only ?? this.options.since ?? 0;
    }
    return Object.fromEntries(this.cursors);
  }

  private receive(data: unknown): void {
    let message: LiveEvent | LiveNotice | LiveEvent[];
    try {
      message = JSON.parse(String(data));
    } catch {
      return;
    }
    if (Array.isArray(message)) {
      for (const event of message) this.take(event);
      return;
    }
    if (message.kind !== "run" && message.kind !== "step") {
      this.options.onNotice?.(message as LiveNotice);
      return;
    }
    this.take(message as LiveEvent);
  }

  private take(event: LiveEvent): void {
    const cursor = this.cursors.get(event.run_id) ?? (this.options.url.includes("/ws/runs/") ? this.options.since ?? 0 : 0);
    if (event.seq <= cursor) return; // already shown
    this.cursors.set(event.run_id, event.seq);
    this.pending.push(event);
    if (!this.frameRequested) {
      this.frameRequested = true;
      (this.options.frame ?? requestAnimationFrame)(() => this.flush());
    }
  }

  private flush(): void {
    this.frameRequested = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length) this.options.onEvents(batch);
  }
}

/** The socket URL with `batch=1` added to its query. */
export function batched(url: string): string {
  return url + (url.includes("?") ? "&" : "?") + "batch=1";
}

export function watch(options: LiveOptions): LiveConnection {
  return new LiveConnection(options).start();
}

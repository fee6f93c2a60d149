// Heartbeats: every heartbeat_interval_s while a session lives, and at once on pause, seek and page
// hide (those use keepalive so they survive the page going away). seq orders them for the server
// (last writer wins by seq). A 410 means the session lapsed: the owner starts a new one.
import type { HeartbeatBody } from "../api";

export type SendResult = "ok" | "stale" | "expired" | "failed";

export interface HeartbeatTransport {
  send(sessionId: string, body: HeartbeatBody, keepalive: boolean): Promise<SendResult>;
}

export interface PlaybackSnapshot {
  position_s: number;
  state: HeartbeatBody["state"];
  rendition?: string;
  buffer_s?: number;
}

export class Heartbeats {
  seq = 0;
  sent = 0;
  acked = 0;
  failed = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private sessionId: string | null = null;
  private expiredFired = false;

  constructor(
    private readonly transport: HeartbeatTransport,
    private readonly snapshot: () => PlaybackSnapshot,
    private readonly onExpired: () => void,
  ) {}

  start(sessionId: string, intervalS: number): void {
    this.stop();
    this.sessionId = sessionId;
    this.expiredFired = false;
    this.timer = setInterval(() => void this.beat(false), Math.max(1, intervalS) * 1000);
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  get session(): string | null {
    return this.sessionId;
  }

  /** One heartbeat now; `urgent` (pause, seek, page hide) asks for keepalive. */
  async beat(urgent: boolean, state?: HeartbeatBody["state"]): Promise<SendResult | null> {
    const id = this.sessionId;
    if (!id) return null;
    const snap = this.snapshot();
    const body: HeartbeatBody = {
      position_s: Math.max(0, Math.round(snap.position_s * 1000) / 1000),
      seq: ++this.seq,
      state: state ?? snap.state,
    };
    if (snap.rendition) body.rendition = snap.rendition;
    if (snap.buffer_s !== undefined) body.buffer_s = Math.min(3600, Math.max(0, Math.round(snap.buffer_s * 10) / 10));
    this.sent++;
    const result = await this.transport.send(id, body, urgent);
    if (result === "ok" || result === "stale") this.acked++;
    else if (result === "failed") this.failed++;
    else if (result === "expired" && id === this.sessionId && !this.expiredFired) {
      this.expiredFired = true;
      this.stop();
      this.onExpired();
    }
    return result;
  }
}

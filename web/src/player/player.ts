// The player: hls.js on a <video>, the session's grant on every CDN request, heartbeats, resume,
// buffer targets with quota handling, ABR with a manual override, silent retries. Everything a test
// or the bench needs to observe is on `window.__player` (see expose()).
import Hls, { ErrorDetails, ErrorTypes, Events, type ErrorData, type HlsConfig, type LoadPolicy } from "hls.js";
import type { SessionStarted } from "../api";
import { bufferedAhead, initialTargets, shrinkAfterQuota, type BufferTargets } from "./buffer";
import { coveredBy, withGrant } from "./grant";
import { Heartbeats, type HeartbeatTransport } from "./heartbeat";

export interface PlayerEvent {
  t: number; // ms since the player was created
  type: string;
  detail?: unknown;
}

export interface LevelInfo {
  index: number;
  height: number;
  width: number;
  bitrate: number;
  name: string;
}

export interface PlayerOptions {
  video: HTMLVideoElement;
  startSession: () => Promise<SessionStarted>;
  endSession: (sessionId: string) => Promise<void>;
  transport: HeartbeatTransport;
  fromStart: boolean;
  forwardBufferS?: number;
  onLevels?: (levels: LevelInfo[]) => void;
  onLevelSwitched?: (level: number, auto: boolean) => void;
  onFatal?: (message: string) => void;
}

// Retries for a failed edge or segment: quick and several, so a viewer never sees them.
function policy(ttfbMs: number, loadMs: number, retries: number): LoadPolicy {
  return {
    default: {
      maxTimeToFirstByteMs: ttfbMs,
      maxLoadTimeMs: loadMs,
      timeoutRetry: { maxNumRetry: retries, retryDelayMs: 0, maxRetryDelayMs: 0 },
      errorRetry: { maxNumRetry: retries, retryDelayMs: 300, maxRetryDelayMs: 4000, backoff: "exponential" },
    },
  };
}

const MAX_FATAL_RECOVERIES = 5;

export class Player {
  readonly events: PlayerEvent[] = [];
  readonly createdAt = performance.now();
  hls: Hls | null = null;
  session: SessionStarted | null = null;
  heartbeats: Heartbeats;
  targets: BufferTargets;
  firstFrameAt: number | null = null;
  stalls = 0;
  stallMs = 0;
  levelSwitches = 0;
  private stallStart: number | null = null;
  private fatalRecoveries = 0;
  private destroyed = false;
  private lastUrgent = 0;
  private readonly cleanups: (() => void)[] = [];

  constructor(private readonly opts: PlayerOptions) {
    this.targets = initialTargets(opts.forwardBufferS);
    this.heartbeats = new Heartbeats(opts.transport, () => this.snapshot(), () => void this.renewSession("lapsed"));
  }

  log(type: string, detail?: unknown): void {
    this.events.push({ t: Math.round(performance.now() - this.createdAt), type, detail });
    if (this.events.length > 2000) this.events.splice(0, 500);
  }

  get video(): HTMLVideoElement {
    return this.opts.video;
  }

  get levels(): LevelInfo[] {
    return (this.hls?.levels ?? []).map((l, index) => ({
      index, height: l.height, width: l.width, bitrate: l.bitrate, name: l.name || `${l.height}p`,
    }));
  }

  get currentLevel(): number {
    return this.hls?.currentLevel ?? -1;
  }

  get currentHeight(): number {
    const l = this.hls?.levels[this.hls.currentLevel];
    return l?.height ?? 0;
  }

  get autoLevel(): boolean {
    return this.hls?.autoLevelEnabled ?? true;
  }

  /** -1: adaptive; else pin that level. */
  setLevel(index: number): void {
    if (!this.hls) return;
    this.hls.currentLevel = index;
    this.log("manual_level", index);
  }

  async open(): Promise<void> {
    const s = await this.opts.startSession();
    if (this.destroyed) {
      void this.opts.endSession(s.session_id);
      return;
    }
    this.session = s;
    this.log("session", { session_id: s.session_id, resume_position_s: s.resume_position_s, max_height: s.max_height });
    const start = this.opts.fromStart ? 0 : Math.max(0, s.resume_position_s);
    this.watchVideo();
    this.attach(s.manifest_url, start);
    this.heartbeats.start(s.session_id, s.heartbeat_interval_s);
  }

  private config(startPosition: number): Partial<HlsConfig> {
    return {
      ...this.targets,
      maxBufferSize: 120 * 1000 * 1000,
      startPosition,
      capLevelToPlayerSize: false, // the plan's tier master already holds only what the plan allows
      enableWorker: true,
      manifestLoadPolicy: policy(8000, 20000, 4),
      playlistLoadPolicy: policy(8000, 20000, 4),
      fragLoadPolicy: policy(8000, 60000, 6),
      xhrSetup: (xhr: XMLHttpRequest, url: string) => {
        const grant = this.session?.grant;
        if (grant && coveredBy(url, grant.resource)) xhr.open("GET", withGrant(url, grant.query), true);
      },
    };
  }

  private attach(manifestUrl: string, startPosition: number): void {
    if (!Hls.isSupported()) {
      this.opts.onFatal?.("This browser cannot play adaptive streams (no Media Source Extensions).");
      return;
    }
    const hls = new Hls(this.config(startPosition));
    this.hls = hls;
    hls.on(Events.MANIFEST_PARSED, () => {
      const cap = this.session?.max_height ?? Infinity;
      // Belt and braces: never pick a level above the plan, even if a master listed one.
      let top = -1;
      hls.levels.forEach((l, i) => { if (l.height <= cap) top = i; });
      if (top >= 0 && top < hls.levels.length - 1) hls.autoLevelCapping = top;
      this.log("levels", this.levels);
      this.opts.onLevels?.(this.levels);
      void this.video.play().catch(() => this.log("autoplay_blocked"));
    });
    hls.on(Events.LEVEL_SWITCHED, (_e, data) => {
      this.levelSwitches++;
      const l = hls.levels[data.level];
      this.log("level_switched", { level: data.level, height: l?.height, auto: hls.autoLevelEnabled });
      this.opts.onLevelSwitched?.(data.level, hls.autoLevelEnabled);
    });
    hls.on(Events.FRAG_BUFFERED, () => {
      this.fatalRecoveries = 0;
    });
    hls.on(Events.ERROR, (_e, data) => this.onError(data));
    hls.attachMedia(this.video);
    hls.loadSource(manifestUrl);
  }

  private onError(data: ErrorData): void {
    const code = (data.response as { code?: number } | undefined)?.code;
    this.log("hls_error", { type: data.type, details: data.details, fatal: data.fatal, code });
    if (data.details === ErrorDetails.BUFFER_FULL_ERROR) {
      this.shrinkBuffer();
      return;
    }
    if (!data.fatal || !this.hls) return;
    if (this.fatalRecoveries++ >= MAX_FATAL_RECOVERIES) {
      this.opts.onFatal?.("Playback stopped: the stream cannot be loaded. Try again in a moment.");
      return;
    }
    if (data.type === ErrorTypes.NETWORK_ERROR) {
      if (code === 403 || code === 410) void this.renewSession("grant_rejected");
      else setTimeout(() => this.hls?.startLoad(this.video.currentTime || -1), 1000);
    } else if (data.type === ErrorTypes.MEDIA_ERROR) {
      this.hls.recoverMediaError();
    } else {
      this.opts.onFatal?.("Playback stopped unexpectedly. Try again.");
    }
  }

  /** QuotaExceededError (hls.js: bufferFullError): a smaller forward and back buffer, kept for
   *  the rest of this playback, so appends fit instead of stalling. */
  shrinkBuffer(): void {
    if (!this.hls) return;
    const ahead = bufferedAhead(this.video.buffered, this.video.currentTime);
    const next = shrinkAfterQuota(this.targets, ahead);
    this.targets = next;
    Object.assign(this.hls.config, next);
    this.log("buffer_shrunk", next);
  }

  /** A new session (410 from a heartbeat, or a grant the CDN refused): the same stream continues. */
  async renewSession(reason: string): Promise<void> {
    if (this.destroyed) return;
    this.log("session_renew", reason);
    const old = this.session;
    try {
      const s = await this.opts.startSession();
      this.session = s;
      this.heartbeats.start(s.session_id, s.heartbeat_interval_s);
      if (old && s.manifest_url !== old.manifest_url && this.hls) {
        const at = this.video.currentTime;
        this.hls.destroy();
        this.attach(s.manifest_url, at);
      } else {
        this.hls?.startLoad(this.video.currentTime || -1);
      }
      this.log("session", { session_id: s.session_id, renewed: true });
    } catch (e) {
      this.log("session_renew_failed", String(e));
      this.opts.onFatal?.(`Playback stopped: ${(e as Error).message}`);
    }
  }

  snapshot() {
    const l = this.hls?.levels[this.hls.currentLevel];
    return {
      position_s: this.video.currentTime || 0,
      state: (this.video.paused ? "paused" : "playing") as "paused" | "playing",
      rendition: l ? (l.name || `${l.height}p`).replace(/[^A-Za-z0-9_.-]/g, "").slice(0, 32) || undefined : undefined,
      buffer_s: bufferedAhead(this.video.buffered, this.video.currentTime),
    };
  }

  private urgent(state?: "paused" | "seeking" | "playing"): void {
    const now = performance.now();
    if (now - this.lastUrgent < 300) return; // a scrub is many seeks: one heartbeat is enough
    this.lastUrgent = now;
    void this.heartbeats.beat(true, state);
  }

  private watchVideo(): void {
    const v = this.video;
    const on = (target: EventTarget, type: string, fn: EventListener) => {
      target.addEventListener(type, fn);
      this.cleanups.push(() => target.removeEventListener(type, fn));
    };
    const firstFrame = () => {
      if (this.firstFrameAt !== null) return;
      this.firstFrameAt = performance.now();
      this.log("first_frame", { ms: Math.round(this.firstFrameAt - this.createdAt), time: v.currentTime });
    };
    if ("requestVideoFrameCallback" in v) v.requestVideoFrameCallback(() => firstFrame());
    on(v, "playing", () => {
      firstFrame();
      if (this.stallStart !== null) {
        this.stallMs += performance.now() - this.stallStart;
        this.stallStart = null;
      }
      this.log("playing", v.currentTime);
    });
    on(v, "waiting", () => {
      if (this.firstFrameAt === null || v.seeking || this.stallStart !== null) return;
      this.stalls++;
      this.stallStart = performance.now();
      this.log("stall", v.currentTime);
    });
    on(v, "pause", () => {
      if (!v.ended) this.urgent("paused");
    });
    on(v, "seeking", () => this.urgent("seeking"));
    on(v, "ended", () => void this.heartbeats.beat(true, "paused"));
    on(document, "visibilitychange", () => {
      if (document.visibilityState === "hidden") void this.heartbeats.beat(true);
    });
    on(window, "pagehide", () => {
      void this.heartbeats.beat(true);
      // The lease is released by the next page (after this heartbeat has landed), or lapses.
      if (this.session) sessionStorage.setItem("reelstack.lastSession", this.session.session_id);
    });
  }

  /** Leave the player: a last heartbeat, then the session ends (its stream slot frees at once). */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    const id = this.session?.session_id;
    if (id) await this.heartbeats.beat(true).catch(() => null);
    this.heartbeats.stop();
    for (const c of this.cleanups.splice(0)) c();
    this.hls?.destroy();
    this.hls = null;
    if (id) await this.opts.endSession(id).catch(() => undefined);
  }

  /** What tests and the bench read. */
  expose(): Record<string, unknown> {
    const self = this as Player;
    return {
      get currentLevel() { return self.currentLevel; },
      get currentHeight() { return self.currentHeight; },
      get autoLevel() { return self.autoLevel; },
      get levels() { return self.levels; },
      get events() { return self.events; },
      get sessionId() { return self.session?.session_id ?? null; },
      get maxHeight() { return self.session?.max_height ?? null; },
      get heartbeats() { return { sent: self.heartbeats.sent, acked: self.heartbeats.acked, failed: self.heartbeats.failed, seq: self.heartbeats.seq }; },
      get stalls() { return { count: self.stalls, ms: Math.round(self.stallMs + (self.stallStart !== null ? performance.now() - self.stallStart : 0)) }; },
      get firstFrameAt() { return self.firstFrameAt; },
      get createdAt() { return self.createdAt; },
      get targets() { return self.targets; },
      get currentTime() { return self.video.currentTime; },
      get paused() { return self.video.paused; },
      setLevel: (i: number) => self.setLevel(i),
      shrinkBuffer: () => self.shrinkBuffer(),
    };
  }
}

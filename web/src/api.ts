// The platform's HTTP API (docs/openapi.json), typed for the fields the screens use.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface Tokens { access_token: string; id_token: string; refresh_token: string; expires_in: number }
export interface Profile {
  profile_id: string; name: string; kids: boolean; maturity_rating: string; language: string; avatar: string | null;
}
export interface Plan {
  id: string; name: string; monthly_price_cents: number; currency: string;
  max_profiles: number; max_concurrent_streams: number; max_resolution: string;
}
export interface Me { user_id: string; email: string; plan: string; subscription_status: string; cancel_at_period_end: boolean }
export interface Subscription { plan: string; status: string; cancel_at_period_end: boolean; payment_method: string }
export interface Invoice {
  invoice_id: string; period: string; plan: string; amount_cents: number; currency: string; status: string;
  created_at: string; decline_code?: string | null;
}
export interface TitleCard {
  title_id: string; title: string; genres?: string[]; year?: number | null; language?: string | null;
  maturity_rating?: string | null; position_s?: number | null; percent?: number | null; kind?: string;
}
export interface HomeRow { row_id: string; kind: string; title: string; sponsored?: boolean; items: TitleCard[] }
export interface Home { profile_id: string; source: string; fallback: boolean; rows: HomeRow[] }
export interface SearchHit extends TitleCard { kind: string; cast?: string[]; highlights?: Record<string, string[]> }
export interface SearchPage { items: SearchHit[]; total: number; next_cursor?: string | null }
export interface Suggestion { title_id: string; title: string; kind: string; year?: number | null }
export interface Rendition { name: string; width: number; height: number; bandwidth: number }
export interface TitleView {
  title_id: string; kind: string; version: number; title: string; description: string; genres: string[];
  cast: string[]; language: string; maturity_rating: string; year: number; status: string;
  duration_s?: number | null; renditions?: Rendition[] | null; failure_reason?: string | null;
  series_id?: string | null; season?: number | null; number?: number | null;
}
export interface EpisodePage { series_id: string; items: TitleView[]; next_cursor?: string | null }
export interface TitlePage { items: TitleView[]; next_cursor?: string | null }
export interface Grant { resource: string; expires_at: number; cookies: Record<string, string>; query: string }
export interface SessionStarted {
  session_id: string; manifest_url: string; grant: Grant; resume_position_s: number;
  heartbeat_interval_s: number; lease_expires_at: number; max_height: number;
}
export interface HeartbeatBody { position_s: number; seq: number; state: "playing" | "paused" | "seeking"; rendition?: string; buffer_s?: number }
export interface ContinueItem {
  title_id: string; title: string; kind: string; series_id?: string | null; episode?: { season: number; number: number } | null;
  position_s: number; duration_s: number; percent: number; reason: string;
}
export interface UploadSingle { upload_url: string; method?: string; headers: Record<string, string>; key: string }
export interface UploadMultipart {
  upload_id: string; key: string; headers: Record<string, string>;
  parts: { part_number: number; upload_url: string; size_bytes: number }[]; complete_path: string;
}

type Query = Record<string, string | number | undefined>;
interface RequestOpts { body?: unknown; query?: Query; signal?: AbortSignal; keepalive?: boolean; anonymous?: boolean; renewed?: boolean }

/** How a sign-in outlives its access token: the token lasts minutes (15 in AWS), a film hours. */
export interface Renewal {
  /** When the access token stops working (epoch ms), or null when unknown. */
  expiresAt(): number | null;
  /** New tokens from the refresh token: true when renewed, false when the session has ended (sign in
   *  again); throws when the API cannot be reached (the viewer is not signed out for a network blip). */
  renew(): Promise<boolean>;
}

/** Renew this long before the access token expires, so a request never carries a dead token. */
export const RENEW_AHEAD_MS = 60_000;

export class Api {
  private renewing: Promise<boolean> | null = null;

  constructor(
    readonly base: string,
    private readonly token: () => string | null,
    private readonly onUnauthorized: () => void = () => {},
    private readonly renewal?: Renewal,
  ) {}

  headers(json = true, anonymous = false): Record<string, string> {
    const h: Record<string, string> = {};
    if (json) h["content-type"] = "application/json";
    const t = anonymous ? null : this.token();
    if (t) h.authorization = `Bearer ${t}`;
    return h;
  }

  /** One renewal at a time: the heartbeat, the home rows and a search that all find the token
   *  expired share one POST /accounts/refresh. */
  private renewOnce(): Promise<boolean> {
    if (!this.renewal) return Promise.resolve(false);
    this.renewing ??= this.renewal.renew().finally(() => { this.renewing = null; });
    return this.renewing;
  }

  private async renewIfDue(opts: RequestOpts): Promise<void> {
    if (!this.renewal || opts.anonymous || !this.token()) return;
    const at = this.renewal.expiresAt();
    if (at === null || at - Date.now() > RENEW_AHEAD_MS) return;
    const renewal = this.renewOnce();
    if (at > Date.now() || opts.keepalive) {
      // The token still works (or the page is closing and cannot wait: the stop must leave now):
      // the request goes at once and the renewal runs beside it.
      renewal.then((renewed) => { if (!renewed) this.onUnauthorized(); }, () => {});
      return;
    }
    let renewed: boolean;
    try {
      renewed = await renewal;
    } catch {
      return; // unreachable now: the request goes with the token it has, and a 401 asks again
    }
    if (!renewed) {
      // The session has ended (refresh token expired or revoked): sign in again. Not left to the
      // request's 401, which a browser may only see as a network error.
      this.onUnauthorized();
      throw new ApiError(401, "SESSION_EXPIRED", "The session has ended: sign in again");
    }
  }

  url(path: string, query: Query = {}): string {
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== "") qs.set(k, String(v));
    const s = qs.toString();
    return `${this.base}${path}${s ? `?${s}` : ""}`;
  }

  async request<T>(method: string, path: string, opts: RequestOpts = {}): Promise<T> {
    await this.renewIfDue(opts);
    try {
      return await this.once<T>(method, path, opts);
    } catch (e) {
      // A read that met a server fault (a cold function timing out, a dropped connection) is
      // asked once more: reads are safe to repeat, writes are not.
      const retriable = e instanceof ApiError && (e.status === 0 || e.status >= 500);
      if (method !== "GET" || !retriable || opts.signal?.aborted) throw e;
      return this.once<T>(method, path, opts);
    }
  }

  private async once<T>(method: string, path: string, opts: RequestOpts): Promise<T> {
    let r: Response;
    try {
      r = await fetch(this.url(path, opts.query), {
        method,
        headers: this.headers(opts.body !== undefined, opts.anonymous),
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
        signal: opts.signal,
        keepalive: opts.keepalive,
      });
    } catch (e) {
      if ((e as Error).name === "AbortError") throw e;
      throw new ApiError(0, "NETWORK", "The service cannot be reached: check the connection and try again.");
    }
    if (r.status === 204) return undefined as T;
    const data: unknown = await r.json().catch(() => null);
    if (!r.ok) {
      const err = (data as { error?: { code?: string; message?: string }; message?: string } | null) ?? {};
      const code = err.error?.code ?? (r.status === 401 ? "UNAUTHORIZED" : `HTTP_${r.status}`);
      const message = err.error?.message ?? err.message ?? `Request failed (${r.status})`;
      if (r.status === 401 && !opts.anonymous && this.token()) {
        // An expired (or revoked) access token: renew once and repeat the request, which the
        // server refused before doing anything; only a session that cannot be renewed signs out.
        if (!opts.renewed && this.renewal) {
          let renewed: boolean;
          try {
            renewed = await this.renewOnce();
          } catch {
            throw new ApiError(0, "NETWORK", "The service cannot be reached: check the connection and try again.");
          }
          if (renewed) return this.once<T>(method, path, { ...opts, renewed: true });
        }
        this.onUnauthorized();
      }
      throw new ApiError(r.status, code, message);
    }
    return data as T;
  }

  // accounts
  signUp(email: string, password: string, plan: string) { return this.request<{ status?: string }>("POST", "/accounts", { body: { email, password, plan } }); }
  confirm(email: string, code: string) { return this.request<{ user_id: string }>("POST", "/accounts/confirm", { body: { email, code } }); }
  login(email: string, password: string) { return this.request<Tokens>("POST", "/accounts/login", { body: { email, password }, anonymous: true }); }
  refreshTokens(refreshToken: string) { return this.once<Tokens>("POST", "/accounts/refresh", { body: { refresh_token: refreshToken }, anonymous: true }); }
  me() { return this.request<Me>("GET", "/accounts/me"); }
  profiles() { return this.request<{ profiles: Profile[] }>("GET", "/profiles"); }
  createProfile(body: Partial<Profile>) { return this.request<Profile>("POST", "/profiles", { body }); }
  updateProfile(id: string, body: Partial<Profile>) { return this.request<Profile>("PATCH", `/profiles/${encodeURIComponent(id)}`, { body }); }
  deleteProfile(id: string) { return this.request<void>("DELETE", `/profiles/${encodeURIComponent(id)}`); }
  // billing
  plans() { return this.request<{ plans: Plan[] }>("GET", "/billing/plans"); }
  subscription() { return this.request<Subscription>("GET", "/billing/subscription"); }
  changePlan(plan: string) { return this.request<Subscription>("PUT", "/billing/subscription", { body: { plan } }); }
  invoices() { return this.request<{ invoices: Invoice[] }>("GET", "/billing/invoices"); }
  // browse
  home(profileId: string) { return this.request<Home>("GET", "/home", { query: { profile_id: profileId } }); }
  search(profileId: string, q: string, signal?: AbortSignal) { return this.request<SearchPage>("GET", "/search", { query: { profile_id: profileId, q, limit: 24 }, signal }); }
  suggest(profileId: string, q: string, signal?: AbortSignal) { return this.request<{ suggestions: Suggestion[] }>("GET", "/search/suggest", { query: { profile_id: profileId, q }, signal }); }
  title(id: string) { return this.request<TitleView>("GET", `/titles/${encodeURIComponent(id)}`); }
  titles(query: Query = {}) { return this.request<TitlePage>("GET", "/titles", { query }); }
  episodes(id: string) { return this.request<EpisodePage>("GET", `/titles/${encodeURIComponent(id)}/episodes`, { query: { limit: 100 } }); }
  continueWatching(profileId: string) { return this.request<{ items: ContinueItem[] }>("GET", `/profiles/${encodeURIComponent(profileId)}/continue-watching`); }
  // playback
  startSession(profileId: string, titleId: string) { return this.request<SessionStarted>("POST", "/playback/sessions", { body: { profile_id: profileId, title_id: titleId } }); }
  heartbeat(sessionId: string, body: HeartbeatBody, keepalive = false) {
    return this.request<{ stale: boolean }>("PUT", `/playback/sessions/${encodeURIComponent(sessionId)}/heartbeat`, { body, keepalive });
  }
  endSession(sessionId: string) { return this.request<void>("DELETE", `/playback/sessions/${encodeURIComponent(sessionId)}`, { keepalive: true }); }
  // admin
  createTitle(body: Record<string, unknown>) { return this.request<{ title_id: string }>("POST", "/titles", { body }); }
  startUpload(id: string, size: number, parts: number | null) {
    return this.request<UploadSingle | UploadMultipart>("POST", `/titles/${encodeURIComponent(id)}/upload`, { body: parts ? { size_bytes: size, parts } : { size_bytes: size } });
  }
  completeUpload(id: string, uploadId: string, parts: { part_number: number; etag: string }[]) {
    return this.request<{ status: string }>("POST", `/titles/${encodeURIComponent(id)}/upload/complete`, { body: { upload_id: uploadId, parts } });
  }
}

export function describe(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

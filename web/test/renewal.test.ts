import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { Api, ApiError, RENEW_AHEAD_MS, type Renewal, type Tokens } from "../src/api";
import { authFromTokens, getAuth, renewSignIn, setAuth } from "../src/store";

const json = (body: unknown, status = 200) => new Response(JSON.stringify(body), { status });
const unauthorized = () => json({ message: "Unauthorized" }, 401);

/** A server whose access tokens are "tok1", "tok2", …: only the newest is accepted. */
function server() {
  let current = 1;
  const calls: { url: string; auth?: string; body?: string }[] = [];
  const fetchMock = vi.fn(async (url: string, init: RequestInit) => {
    const auth = (init.headers as Record<string, string>).authorization;
    calls.push({ url, auth, body: init.body as string | undefined });
    if (url.endsWith("/accounts/refresh")) {
      const { refresh_token } = JSON.parse(init.body as string) as { refresh_token: string };
      if (refresh_token !== "refresh-ok") return json({ error: { code: "SESSION_EXPIRED", message: "ended" } }, 401);
      current += 1;
      return json({ access_token: `tok${current}`, id_token: "id", refresh_token: "refresh-ok", expires_in: 900 });
    }
    return auth === `Bearer tok${current}` ? json({ profiles: [] }) : unauthorized();
  });
  vi.stubGlobal("fetch", fetchMock);
  return { calls, fetchMock, expire: () => { current += 1; } };
}

function client(refreshToken: string, expiresAt: () => number | null = () => null) {
  setAuth({ access_token: "tok1", expires_at: Date.now() + 900_000, email: "a@b", refresh_token: refreshToken });
  const out = vi.fn();
  // The app's own renewal (main.ts wires exactly this).
  const renewal: Renewal = { expiresAt, renew: vi.fn(() => renewSignIn((t) => api.refreshTokens(t))) };
  const api: Api = new Api("http://api", () => getAuth()?.access_token ?? null, out, renewal);
  return { api, out, renewal };
}

describe("staying signed in past the access token", () => {
  beforeEach(() => localStorage.clear());
  afterEach(() => vi.unstubAllGlobals());

  it("renews an expired token once and repeats the refused request, a write included", async () => {
    const s = server();
    const { api, out } = client("refresh-ok");
    s.expire(); // the server moved on: tok1 is now refused
    expect(await api.profiles()).toEqual({ profiles: [] });
    s.expire();
    expect(await api.createProfile({ name: "x" })).toEqual({ profiles: [] });
    expect(out).not.toHaveBeenCalled();
    const refreshes = s.calls.filter((c) => c.url.endsWith("/accounts/refresh"));
    expect(refreshes).toHaveLength(2);
    expect(refreshes.every((c) => c.auth === undefined)).toBe(true); // the refresh call carries no bearer
    expect(getAuth()?.refresh_token).toBe("refresh-ok");
  });

  it("shares one renewal between requests that all find the token expired", async () => {
    const s = server();
    const { api, renewal } = client("refresh-ok");
    s.expire();
    await Promise.all([api.profiles(), api.profiles(), api.me(), api.plans()]);
    expect(renewal.renew).toHaveBeenCalledTimes(1);
  });

  it("renews an expired token before the request, so it never carries a dead token", async () => {
    const s = server();
    const { api } = client("refresh-ok", () => Date.now() - 1);
    s.expire();
    await api.profiles();
    expect(s.calls.map((c) => c.url.replace("http://api", ""))).toEqual(["/accounts/refresh", "/profiles"]);
  });

  it("sends at once while the token still works and renews beside it (a closing page's stop cannot wait)", async () => {
    const s = server();
    const { api, renewal } = client("refresh-ok", () => Date.now() + RENEW_AHEAD_MS - 1);
    await api.endSession("s1");
    const stop = s.calls.find((c) => c.url === "http://api/playback/sessions/s1");
    expect(stop?.auth).toBe("Bearer tok1"); // sent with the token it had, not after the renewal
    expect(renewal.renew).toHaveBeenCalledTimes(1);
    await vi.waitFor(() => expect(getAuth()?.access_token).toBe("tok2"));
  });

  it("signs out once when the session cannot be renewed", async () => {
    const s = server();
    const { api, out } = client("refresh-revoked");
    s.expire();
    await expect(api.profiles()).rejects.toMatchObject({ status: 401 });
    expect(out).toHaveBeenCalledTimes(1);
  });

  it("signs out without sending a dead token when the due renewal is refused", async () => {
    const s = server();
    const { api, out } = client("refresh-revoked", () => Date.now() - 1);
    await expect(api.profiles()).rejects.toMatchObject({ status: 401, code: "SESSION_EXPIRED" });
    expect(out).toHaveBeenCalledTimes(1);
    expect(s.calls.map((c) => c.url.replace("http://api", ""))).toEqual(["/accounts/refresh"]);
  });

  it("stays signed in when the renewal cannot reach the API", async () => {
    const s = server();
    const { api, out } = client("refresh-ok");
    s.expire();
    s.fetchMock.mockImplementationOnce(async () => unauthorized());
    s.fetchMock.mockImplementationOnce(async () => { throw new TypeError("Failed to fetch"); });
    // A write (a read would be asked once more, and succeed).
    await expect(api.createProfile({ name: "x" })).rejects.toMatchObject({ status: 0, code: "NETWORK" });
    expect(out).not.toHaveBeenCalled();
    expect(getAuth()).not.toBeNull();
  });

  it("keeps a sign-in with a refresh token after its access token expired, and the refresh token on renewal", () => {
    setAuth({ access_token: "t", expires_at: 1000, email: "a@b", refresh_token: "r" });
    expect(getAuth(5000)?.email).toBe("a@b");
    const renewed = authFromTokens({ access_token: "t2", expires_in: 900 }, "a@b", getAuth(), 10_000);
    expect(renewed).toEqual({ access_token: "t2", expires_at: 10_000 + 870_000, email: "a@b", refresh_token: "r" });
  });

  it("never writes a renewed sign-in back over a sign-out or another user's sign-in", async () => {
    let answer: (t: Tokens) => void = () => {};
    const slow = () => new Promise<Tokens>((resolve) => { answer = resolve; });
    const tokens: Tokens = { access_token: "new", id_token: "i", refresh_token: "r1", expires_in: 900 };

    setAuth({ access_token: "old", expires_at: 1, email: "a@b", refresh_token: "r1" });
    const signedOut = renewSignIn(slow);
    setAuth(null); // the viewer signs out while the renewal is in flight
    answer(tokens);
    expect(await signedOut).toBe(false);
    expect(getAuth()).toBeNull();

    setAuth({ access_token: "old", expires_at: 1, email: "a@b", refresh_token: "r1" });
    const replaced = renewSignIn(slow);
    setAuth({ access_token: "b", expires_at: Date.now() + 900_000, email: "b@b", refresh_token: "r2" });
    answer(tokens);
    expect(await replaced).toBe(true); // the caller repeats with what is stored now: B's sign-in
    expect(getAuth()?.email).toBe("b@b");
  });

  it("ends the session only when the API refuses the refresh token", async () => {
    setAuth({ access_token: "old", expires_at: 1, email: "a@b", refresh_token: "r1" });
    const refusing = (status: number) => async (): Promise<Tokens> => { throw new ApiError(status, "X", "x"); };
    expect(await renewSignIn(refusing(401))).toBe(false);
    expect(await renewSignIn(refusing(400))).toBe(false);
    await expect(renewSignIn(refusing(429))).rejects.toMatchObject({ status: 429 });
    await expect(renewSignIn(refusing(503))).rejects.toMatchObject({ status: 503 });
    await expect(renewSignIn(refusing(0))).rejects.toMatchObject({ status: 0 });
    expect(getAuth()?.refresh_token).toBe("r1");
    setAuth({ access_token: "old", expires_at: 1, email: "a@b" });
    expect(await renewSignIn(refusing(401))).toBe(false); // nothing to renew with
  });
});

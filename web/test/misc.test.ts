import { afterEach, describe, expect, it, vi } from "vitest";
import { Api, ApiError } from "../src/api";
import { loadConfig } from "../src/config";
import { allows } from "../src/maturity";
import { href, parseHash } from "../src/router";
import { claims, getAuth, isAdmin, setAuth } from "../src/store";
import { partRanges, planParts, Progress, MIN_PART } from "../src/upload";
import { Latest } from "../src/views/search";

describe("router", () => {
  it("parses and builds hash routes", () => {
    expect(parseHash("#/title/abc%20d?from=start")).toEqual({ name: "title", params: ["abc d"], query: { from: "start" } });
    expect(parseHash("")).toEqual({ name: "", params: [], query: {} });
    expect(href("watch", ["t1"], { from: "start" })).toBe("#/watch/t1?from=start");
  });
});

describe("maturity (mirrors reelstack_common.maturity)", () => {
  it("keeps adult and unrated titles from kids", () => {
    expect(allows("7+", "PG")).toBe(true);
    expect(allows("7+", "R")).toBe(false);
    expect(allows("7+", null)).toBe(false);
    expect(allows("bogus", "PG")).toBe(false);
    expect(allows("18+", "TV-MA")).toBe(true);
  });
});

describe("upload planning", () => {
  it("uses one PUT for small files and parts of at least 5 MiB otherwise", () => {
    expect(planParts(10 * 1024 * 1024)).toBeNull();
    const size = 200 * 1024 * 1024 + 7;
    const parts = planParts(size)!;
    expect(parts).toBeGreaterThan(1);
    const ranges = partRanges(size, parts);
    expect(ranges[0][0]).toBe(0);
    expect(ranges[ranges.length - 1][1]).toBe(size);
    for (const [a, b] of ranges.slice(0, -1)) expect(b - a).toBeGreaterThanOrEqual(MIN_PART);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i][0]).toBe(ranges[i - 1][1]);
  });
  it("reports overall progress across parts", () => {
    const seen: number[] = [];
    const p = new Progress(100, (f) => seen.push(f));
    p.update(1, 30);
    p.update(2, 50);
    p.update(1, 50);
    expect(seen).toEqual([0.3, 0.8, 1]);
  });
});

describe("search requests", () => {
  it("let only the latest answer through and abort the older one", () => {
    const l = new Latest();
    const a = l.next();
    const b = l.next();
    expect(a.signal.aborted).toBe(true);
    expect(l.isCurrent(a.id)).toBe(false);
    expect(l.isCurrent(b.id)).toBe(true);
  });
});

describe("store", () => {
  const token = (payload: object) => `h.${btoa(JSON.stringify(payload)).replace(/=+$/, "")}.s`;
  it("reads groups from the token and drops an expired sign-in", () => {
    expect(isAdmin(token({ "cognito:groups": ["admins"] }))).toBe(true);
    expect(isAdmin(token({ sub: "x" }))).toBe(false);
    expect(claims("garbage")).toEqual({});
    setAuth({ access_token: "t", expires_at: 1000, email: "a@b" });
    expect(getAuth(999)?.email).toBe("a@b");
    expect(getAuth(1001)).toBeNull();
  });
});

describe("api", () => {
  afterEach(() => vi.unstubAllGlobals());
  it("turns the platform's error body into an ApiError and signs out on 401", async () => {
    const out = vi.fn();
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ error: { code: "STREAM_LIMIT", message: "too many" } }), { status: 409 })));
    const api = new Api("http://api", () => "tok", out);
    await expect(api.startSession("p", "t")).rejects.toMatchObject({ status: 409, code: "STREAM_LIMIT", message: "too many" });
    vi.stubGlobal("fetch", vi.fn(async () => new Response(JSON.stringify({ message: "Unauthorized" }), { status: 401 })));
    await expect(api.me()).rejects.toBeInstanceOf(ApiError);
    expect(out).toHaveBeenCalledTimes(1);
  });
  it("sends the bearer token and query parameters", async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ items: [], total: 0, facets: {} }), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    await new Api("http://api", () => "tok").search("p1", "ocaen");
    const [url, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    expect(url).toBe("http://api/search?profile_id=p1&q=ocaen&limit=24");
    expect((init.headers as Record<string, string>).authorization).toBe("Bearer tok");
  });
  it("asks a failed read once more, never a failed write", async () => {
    const fetchMock = vi.fn()
      .mockResolvedValueOnce(new Response(JSON.stringify({ message: "Internal Server Error" }), { status: 500 }))
      .mockResolvedValueOnce(new Response(JSON.stringify({ profiles: [] }), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    const api = new Api("http://api", () => "tok");
    expect(await api.profiles()).toEqual({ profiles: [] });
    fetchMock.mockResolvedValueOnce(new Response("{}", { status: 500 }));
    await expect(api.startSession("p", "t")).rejects.toMatchObject({ status: 500 });
    expect(fetchMock).toHaveBeenCalledTimes(3);
  });
  it("reads the API address from config.json", async () => {
    const f = vi.fn(async () => new Response(JSON.stringify({ api_url: "http://127.0.0.1:4510/" })));
    expect((await loadConfig(f as unknown as typeof fetch)).api_url).toBe("http://127.0.0.1:4510");
    const bad = vi.fn(async () => new Response(JSON.stringify({ api_url: "javascript:alert(1)" })));
    await expect(loadConfig(bad as unknown as typeof fetch)).rejects.toThrow();
  });
});

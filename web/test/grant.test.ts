import { describe, expect, it } from "vitest";
import { coveredBy, withGrant } from "../src/player/grant";

const Q = "Policy=abc&Signature=def&Key-Pair-Id=K1";

describe("withGrant", () => {
  it("appends the signed-URL query to a bare URL", () => {
    expect(withGrant("http://cdn/titles/t/hls/cap2160/master.m3u8", Q)).toBe(`http://cdn/titles/t/hls/cap2160/master.m3u8?${Q}`);
  });
  it("keeps other query parameters and replaces a stale grant", () => {
    const url = "http://cdn/a/seg1.m4s?x=1&Policy=old&Signature=old&Key-Pair-Id=old";
    expect(withGrant(url, Q)).toBe(`http://cdn/a/seg1.m4s?x=1&${Q}`);
  });
  it("drops a fragment and leaves the URL alone without a grant", () => {
    expect(withGrant("http://cdn/a.m3u8#t=3", Q)).toBe(`http://cdn/a.m3u8?${Q}`);
    expect(withGrant("http://cdn/a.m3u8", "")).toBe("http://cdn/a.m3u8");
  });
});

describe("coveredBy", () => {
  it("sends the grant only to the CDN's origin", () => {
    const res = "https://d1.cloudfront.net/titles/t/hls/cap2160/cap1080/*";
    expect(coveredBy("https://d1.cloudfront.net/titles/t/hls/cap2160/cap1080/720p/seg.m4s", res)).toBe(true);
    expect(coveredBy("https://evil.example/titles/t/x", res)).toBe(false);
    expect(coveredBy("not a url", res)).toBe(false);
  });
});

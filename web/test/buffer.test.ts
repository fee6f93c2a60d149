import { describe, expect, it } from "vitest";
import { bufferedAhead, initialTargets, shrinkAfterQuota } from "../src/player/buffer";

const ranges = (...r: [number, number][]) => ({ length: r.length, start: (i: number) => r[i][0], end: (i: number) => r[i][1] });

describe("buffer targets", () => {
  it("start at five minutes ahead with a finite back buffer", () => {
    const t = initialTargets();
    expect(t.maxBufferLength).toBe(300);
    expect(t.maxMaxBufferLength).toBe(300);
    expect(t.backBufferLength).toBeGreaterThan(0);
    expect(t.backBufferLength).toBeLessThanOrEqual(90);
  });
  it("shrink below what was buffered when the quota is hit, never under 30 s", () => {
    const t = initialTargets();
    const once = shrinkAfterQuota(t, 160);
    expect(once.maxBufferLength).toBe(120);
    expect(once.maxMaxBufferLength).toBe(120);
    expect(once.backBufferLength).toBeLessThanOrEqual(t.backBufferLength);
    let x = once;
    for (let i = 0; i < 10; i++) x = shrinkAfterQuota(x, x.maxBufferLength * 0.5);
    expect(x.maxBufferLength).toBe(30);
  });
  it("never grow on a quota error", () => {
    const t = { maxBufferLength: 40, maxMaxBufferLength: 40, backBufferLength: 10 };
    expect(shrinkAfterQuota(t, 200).maxBufferLength).toBe(40);
  });
  it("measure what is buffered ahead of the playhead", () => {
    expect(bufferedAhead(ranges([0, 10], [20, 50]), 25)).toBe(25);
    expect(bufferedAhead(ranges([0, 10]), 12)).toBe(0);
  });
});

import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { HeartbeatBody } from "../src/api";
import { Heartbeats, type SendResult } from "../src/player/heartbeat";

function setup(results: SendResult[] = []) {
  const sent: { id: string; body: HeartbeatBody; keepalive: boolean }[] = [];
  const expired = vi.fn();
  let position = 0;
  const hb = new Heartbeats(
    { send: async (id, body, keepalive) => { sent.push({ id, body, keepalive }); return results.shift() ?? "ok"; } },
    () => ({ position_s: position, state: "playing", rendition: "720p", buffer_s: 12.34 }),
    expired,
  );
  return { hb, sent, expired, at: (p: number) => { position = p; } };
}

describe("Heartbeats", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("beat every interval with increasing seq and the current position", async () => {
    const { hb, sent, at } = setup();
    hb.start("s1", 5);
    at(4.2);
    await vi.advanceTimersByTimeAsync(5000);
    at(9.3);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sent.map((s) => s.body.seq)).toEqual([1, 2]);
    expect(sent.map((s) => s.body.position_s)).toEqual([4.2, 9.3]);
    expect(sent[0]).toMatchObject({ id: "s1", keepalive: false, body: { rendition: "720p", buffer_s: 12.3, state: "playing" } });
    expect(hb.sent).toBe(2);
    expect(hb.acked).toBe(2);
  });

  it("send urgent beats with keepalive and the given state", async () => {
    const { hb, sent } = setup();
    hb.start("s1", 5);
    await hb.beat(true, "paused");
    expect(sent[0]).toMatchObject({ keepalive: true, body: { state: "paused", seq: 1 } });
  });

  it("report a lapsed session once and stop beating", async () => {
    const { hb, sent, expired } = setup(["expired", "expired"]);
    hb.start("s1", 5);
    await vi.advanceTimersByTimeAsync(5000);
    await vi.advanceTimersByTimeAsync(20000);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(sent.length).toBe(1);
  });

  it("count failures without giving up", async () => {
    const { hb } = setup(["failed", "ok"]);
    hb.start("s1", 5);
    await vi.advanceTimersByTimeAsync(10000);
    expect(hb.failed).toBe(1);
    expect(hb.acked).toBe(1);
  });

  it("send nothing without a session", async () => {
    const { hb, sent } = setup();
    expect(await hb.beat(true)).toBeNull();
    expect(sent.length).toBe(0);
  });
});

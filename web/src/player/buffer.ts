// Buffer targets: 300 s ahead (the seed's "buffer up to 5 mins"), a finite back buffer, and a smaller
// target each time the browser's MediaSource quota is hit (QuotaExceededError) instead of stalling.
export const FORWARD_BUFFER_S = 300;
export const BACK_BUFFER_S = 60;
export const MIN_FORWARD_BUFFER_S = 30;

export interface BufferTargets {
  maxBufferLength: number;
  maxMaxBufferLength: number;
  backBufferLength: number;
}

export function initialTargets(forward: number = FORWARD_BUFFER_S): BufferTargets {
  return { maxBufferLength: forward, maxMaxBufferLength: forward, backBufferLength: Math.min(BACK_BUFFER_S, forward) };
}

/** After a QuotaExceededError: three quarters of what is buffered now (it did not fit), never
 *  below 30 s, and never more than the current target; the back buffer shrinks too. */
export function shrinkAfterQuota(current: BufferTargets, bufferedAheadS: number): BufferTargets {
  const fit = bufferedAheadS > 0 ? Math.floor(bufferedAheadS * 0.75) : Math.floor(current.maxBufferLength / 2);
  const forward = Math.max(MIN_FORWARD_BUFFER_S, Math.min(current.maxBufferLength, fit));
  return {
    maxBufferLength: forward,
    maxMaxBufferLength: forward,
    backBufferLength: Math.max(10, Math.min(current.backBufferLength, Math.floor(forward / 4))),
  };
}

/** Seconds buffered ahead of `time` in a TimeRanges-like object. */
export function bufferedAhead(ranges: { length: number; start(i: number): number; end(i: number): number }, time: number): number {
  for (let i = 0; i < ranges.length; i++) {
    if (ranges.start(i) <= time + 0.5 && time < ranges.end(i)) return ranges.end(i) - time;
  }
  return 0;
}

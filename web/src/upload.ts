// How a source file is cut for upload: one PUT when small, else S3 multipart parts (every part but
// the last at least 5 MiB; at most 1000 parts) that upload a few at a time with one progress bar.
export const SINGLE_PUT_MAX = 64 * 1024 * 1024;
export const PART_TARGET = 16 * 1024 * 1024;
export const MIN_PART = 5 * 1024 * 1024;
export const MAX_PARTS = 1000;

/** null: one PUT; else the number of parts to ask the catalog for. */
export function planParts(size: number): number | null {
  if (size <= SINGLE_PUT_MAX) return null;
  const parts = Math.min(MAX_PARTS, Math.max(2, Math.floor(size / PART_TARGET)));
  return Math.floor(size / parts) >= MIN_PART ? parts : Math.max(1, Math.floor(size / MIN_PART));
}

/** Byte ranges of the parts, as the catalog splits them (larger parts first). */
export function partRanges(size: number, parts: number): [number, number][] {
  const base = Math.floor(size / parts);
  const extra = size % parts;
  const out: [number, number][] = [];
  let start = 0;
  for (let n = 0; n < parts; n++) {
    const len = n < extra ? base + 1 : base;
    out.push([start, start + len]);
    start += len;
  }
  return out;
}

/** Overall progress from the bytes sent per part. */
export class Progress {
  private sent = new Map<number, number>();
  constructor(private readonly total: number, private readonly onChange: (fraction: number) => void) {}
  update(part: number, bytes: number): void {
    this.sent.set(part, bytes);
    let sum = 0;
    for (const v of this.sent.values()) sum += v;
    this.onChange(this.total > 0 ? Math.min(1, sum / this.total) : 1);
  }
}

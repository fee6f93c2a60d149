import { describe, expect, it } from "vitest";
import { move } from "../src/nav";

describe("arrow-key movement through rows", () => {
  const rows = [5, 2, 0, 4];
  it("moves within a row and stops at its ends", () => {
    expect(move(rows, { row: 0, col: 0 }, "right")).toEqual({ row: 0, col: 1 });
    expect(move(rows, { row: 0, col: 0 }, "left")).toBeNull();
    expect(move(rows, { row: 1, col: 1 }, "right")).toBeNull();
  });
  it("moves to the nearest card of the next non-empty row", () => {
    expect(move(rows, { row: 0, col: 4 }, "down")).toEqual({ row: 1, col: 1 });
    expect(move(rows, { row: 1, col: 1 }, "down")).toEqual({ row: 3, col: 1 });
    expect(move(rows, { row: 3, col: 3 }, "up")).toEqual({ row: 1, col: 1 });
    expect(move(rows, { row: 0, col: 2 }, "up")).toBeNull();
  });
});

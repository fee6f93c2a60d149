// Arrow-key movement through rows of cards: Left/Right within a row, Up/Down to the nearest card
// (by column index) of the row above or below. Cards are elements with data-row / data-col.
export type Direction = "left" | "right" | "up" | "down";

export interface Cell {
  row: number;
  col: number;
}

/** The cell to move to from `at`, given how many cards each row holds; null: stay. */
export function move(rowSizes: number[], at: Cell, dir: Direction): Cell | null {
  const { row, col } = at;
  if (dir === "left") return col > 0 ? { row, col: col - 1 } : null;
  if (dir === "right") return col + 1 < (rowSizes[row] ?? 0) ? { row, col: col + 1 } : null;
  const step = dir === "up" ? -1 : 1;
  for (let r = row + step; r >= 0 && r < rowSizes.length; r += step) {
    if (rowSizes[r] > 0) return { row: r, col: Math.min(col, rowSizes[r] - 1) };
  }
  return null;
}

const KEYS: Record<string, Direction> = { ArrowLeft: "left", ArrowRight: "right", ArrowUp: "up", ArrowDown: "down" };

/** Arrow keys inside `root` move focus between its cards. */
export function installGridNav(root: HTMLElement): void {
  root.addEventListener("keydown", (ev) => {
    const dir = KEYS[ev.key];
    const target = ev.target as HTMLElement;
    if (!dir || !target.dataset || target.dataset.row === undefined) return;
    const cards = Array.from(root.querySelectorAll<HTMLElement>("[data-row][data-col]"));
    const sizes: number[] = [];
    for (const c of cards) {
      const r = Number(c.dataset.row);
      sizes[r] = Math.max(sizes[r] ?? 0, Number(c.dataset.col) + 1);
    }
    for (let i = 0; i < sizes.length; i++) sizes[i] = sizes[i] ?? 0;
    const next = move(sizes, { row: Number(target.dataset.row), col: Number(target.dataset.col) }, dir);
    if (!next) return;
    const el = root.querySelector<HTMLElement>(`[data-row="${next.row}"][data-col="${next.col}"]`);
    if (el) {
      ev.preventDefault();
      el.focus();
      el.scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  });
}

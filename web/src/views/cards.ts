import type { HomeRow, TitleCard } from "../api";
import { h } from "../dom";
import { installGridNav } from "../nav";
import { go, href } from "../router";

/** A stable colour per title (there is no artwork yet): the card still reads as a poster. */
export function hue(id: string): number {
  let x = 0;
  for (let i = 0; i < id.length; i++) x = (x * 31 + id.charCodeAt(i)) % 360;
  return x;
}

export function card(item: TitleCard, row: number, col: number): HTMLElement {
  const meta = [item.year, item.maturity_rating, (item.genres ?? []).slice(0, 2).join(", ")].filter(Boolean).join(" · ");
  const progress = item.percent !== null && item.percent !== undefined
    ? h("span", { class: "progress", "aria-hidden": "true" }, h("span", { style: `width:${Math.min(100, Math.max(2, item.percent))}%` }))
    : null;
  const el = h(
    "a",
    {
      class: "card",
      href: href("title", [item.title_id]),
      "data-row": row,
      "data-col": col,
      "data-title-id": item.title_id,
      style: `--hue:${hue(item.title_id)}`,
      "aria-label": `${item.title}${meta ? `, ${meta}` : ""}. Enter plays, Space opens details.`,
      onkeydown: (ev: KeyboardEvent) => {
        if (ev.key === "Enter") {
          ev.preventDefault();
          (window as unknown as { __playClickAt?: number }).__playClickAt = performance.now();
          go("watch", [item.title_id]);
        } else if (ev.key === " ") {
          ev.preventDefault();
          go("title", [item.title_id]);
        }
      },
    },
    h("span", { class: "poster" }, h("span", { class: "poster-title" }, item.title)),
    progress,
    h("span", { class: "card-title" }, item.title),
    h("span", { class: "card-meta" }, meta),
  );
  return el;
}

export function rowsView(rows: HomeRow[]): HTMLElement {
  const root = h(
    "div",
    { class: "rows" },
    rows.filter((r) => r.items.length > 0).map((r, i) =>
      h(
        "section",
        { class: `row row-${r.kind}`, "aria-label": r.title, "data-row-kind": r.kind },
        h("h2", {}, r.title, r.sponsored ? h("span", { class: "badge" }, "Sponsored") : null),
        h("div", { class: "row-items", role: "list" }, r.items.map((it, j) => card(it, i, j))),
      ),
    ),
  );
  installGridNav(root);
  return root;
}

export function gridView(items: TitleCard[], columns = 0): HTMLElement {
  // One "row" per visual line would need layout; a single row keeps Left/Right working.
  const root = h("div", { class: "grid", role: "list" }, items.map((it, j) => card(it, columns ? Math.floor(j / columns) : 0, columns ? j % columns : j)));
  installGridNav(root);
  return root;
}

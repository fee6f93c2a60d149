import { ApiError, describe, type SearchHit } from "../api";
import type { Ctx } from "../ctx";
import { h, mount } from "../dom";
import { go, href } from "../router";
import { gridView } from "./cards";

/** Latest-wins: each keystroke aborts the previous request, and a late answer never
 *  overwrites a newer one. */
export class Latest {
  private n = 0;
  private ctrl: AbortController | null = null;
  next(): { id: number; signal: AbortSignal } {
    this.ctrl?.abort();
    this.ctrl = new AbortController();
    return { id: ++this.n, signal: this.ctrl.signal };
  }
  isCurrent(id: number): boolean {
    return id === this.n;
  }
}

export function searchView(ctx: Ctx): void {
  ctx.title("Search");
  const pid = ctx.profile!.profile_id;
  const initial = ctx.route.query.q ?? "";
  const input = h("input", {
    type: "search", name: "q", placeholder: "Titles, people, genres", value: initial, autocomplete: "off",
    role: "combobox", "aria-expanded": "false", "aria-controls": "suggestions", "aria-autocomplete": "list", "aria-label": "Search",
  });
  const suggestions = h("ul", { id: "suggestions", class: "suggestions", role: "listbox" });
  const results = h("div", { class: "results", "aria-live": "polite" });
  const suggestSeq = new Latest();
  const searchSeq = new Latest();

  const showSuggestions = (items: { title_id: string; title: string; year?: number | null }[]) => {
    mount(suggestions, items.map((s, i) => h("li", { role: "option", id: `sugg-${i}` },
      h("a", { href: href("title", [s.title_id]), class: "suggestion", "data-title-id": s.title_id }, s.title, s.year ? h("span", { class: "muted" }, ` ${s.year}`) : null))));
    input.setAttribute("aria-expanded", items.length ? "true" : "false");
  };

  const run = async (q: string) => {
    history.replaceState(null, "", href("search", [], q ? { q } : {}));
    if (!q.trim()) {
      showSuggestions([]);
      mount(results);
      return;
    }
    const s = suggestSeq.next();
    ctx.api.suggest(pid, q, s.signal).then((r) => { if (suggestSeq.isCurrent(s.id)) showSuggestions(r.suggestions.slice(0, 8)); }).catch(() => undefined);
    const f = searchSeq.next();
    try {
      const page = await ctx.api.search(pid, q, f.signal);
      if (!searchSeq.isCurrent(f.id)) return;
      const items: SearchHit[] = page.items;
      mount(results, items.length
        ? [h("p", { class: "muted" }, `${page.total} result${page.total === 1 ? "" : "s"}`), gridView(items)]
        : h("p", { class: "empty" }, `No titles match “${q}”.`));
    } catch (e) {
      if ((e as Error).name === "AbortError" || !searchSeq.isCurrent(f.id)) return;
      mount(results, h("p", { class: "error" }, e instanceof ApiError && e.status === 503 ? "Search is unavailable right now." : describe(e)));
    }
  };

  input.addEventListener("input", () => void run(input.value));
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown") {
      const first = suggestions.querySelector("a") ?? results.querySelector(".card");
      if (first) { ev.preventDefault(); (first as HTMLElement).focus(); }
    } else if (ev.key === "Enter") {
      ev.preventDefault();
      const first = results.querySelector<HTMLElement>(".card");
      if (first) go("title", [first.dataset.titleId ?? ""]);
    }
  });
  suggestions.addEventListener("keydown", (ev) => {
    const links = Array.from(suggestions.querySelectorAll<HTMLElement>("a"));
    const i = links.indexOf(ev.target as HTMLElement);
    if (ev.key === "ArrowDown" && i >= 0) { ev.preventDefault(); (links[i + 1] ?? results.querySelector<HTMLElement>(".card"))?.focus(); }
    if (ev.key === "ArrowUp" && i >= 0) { ev.preventDefault(); (links[i - 1] ?? input).focus(); }
  });
  mount(ctx.main, h("h1", {}, "Search"), h("div", { class: "search-box" }, input, suggestions), results);
  input.focus();
  if (initial) void run(initial);
}

import { ApiError, describe, type HomeRow } from "../api";
import type { Ctx } from "../ctx";
import { h, mount } from "../dom";
import { allows } from "../maturity";
import { rowsView } from "./cards";

/** When the home service cannot answer at all, rows from the catalog (filtered to what this
 *  profile may see) so the page still looks and works like home. */
async function catalogRows(ctx: Ctx): Promise<HomeRow[]> {
  const page = await ctx.api.titles({ limit: 50 });
  const items = page.items
    .filter((t) => t.status === "READY" && t.kind !== "episode" && allows(ctx.profile?.maturity_rating, t.maturity_rating))
    .map((t) => ({ title_id: t.title_id, title: t.title, genres: t.genres, year: t.year, maturity_rating: t.maturity_rating }));
  return items.length ? [{ row_id: "browse", kind: "new", title: "Browse", items }] : [];
}

export async function homeView(ctx: Ctx): Promise<void> {
  ctx.title("Home");
  mount(ctx.main, h("p", { class: "loading" }, "Loading…"));
  const pid = ctx.profile!.profile_id;
  let rows: HomeRow[] = [];
  let note = "";
  try {
    const home = await ctx.api.home(pid);
    rows = home.rows;
    if (home.fallback) note = "Showing popular titles while your recommendations are prepared.";
  } catch (e) {
    if (e instanceof ApiError && e.status === 401) return;
    try {
      rows = await catalogRows(ctx);
      note = "Recommendations are unavailable right now.";
    } catch {
      mount(ctx.main, h("p", { class: "error" }, describe(e)));
      return;
    }
  }
  const visible = rows.filter((r) => r.items.length > 0);
  mount(
    ctx.main,
    h("h1", { class: "visually-hidden" }, "Home"),
    note ? h("p", { class: "note" }, note) : null,
    visible.length ? rowsView(visible) : h("p", { class: "empty" }, "Nothing to watch yet. Titles appear here when they are published."),
  );
  (ctx.main.querySelector(".card") as HTMLElement | null)?.focus();
}

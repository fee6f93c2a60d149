import { describe } from "../api";
import type { Ctx } from "../ctx";
import { h, mount } from "../dom";
import { gridView } from "./cards";

export async function continueView(ctx: Ctx): Promise<void> {
  ctx.title("Continue watching");
  mount(ctx.main, h("p", { class: "loading" }, "Loading…"));
  try {
    const { items } = await ctx.api.continueWatching(ctx.profile!.profile_id);
    mount(ctx.main, h("h1", {}, "Continue watching"),
      items.length
        ? gridView(items.map((i) => ({
          title_id: i.title_id,
          title: i.episode ? `${i.title} (S${i.episode.season} E${i.episode.number})` : i.title,
          percent: i.reason === "next_episode" ? 0 : i.percent,
          position_s: i.position_s,
        })))
        : h("p", { class: "empty" }, "Nothing in progress. Start something from Home."));
    (ctx.main.querySelector(".card") as HTMLElement | null)?.focus();
  } catch (e) {
    mount(ctx.main, h("p", { class: "error" }, describe(e)));
  }
}

import { describe, type ContinueItem, type TitleView } from "../api";
import type { Ctx } from "../ctx";
import { formatTime, h, mount } from "../dom";
import { go } from "../router";
import { hue } from "./cards";

function markClick(): void {
  (window as unknown as { __playClickAt?: number }).__playClickAt = performance.now();
}

export async function titleView(ctx: Ctx): Promise<void> {
  const id = ctx.route.params[0] ?? "";
  void import("./watch"); // the player's code (hls.js) loads while the viewer reads the page
  mount(ctx.main, h("p", { class: "loading" }, "Loading…"));
  let t: TitleView;
  try {
    t = await ctx.api.title(id);
  } catch (e) {
    mount(ctx.main, h("p", { class: "error" }, describe(e)));
    return;
  }
  ctx.title(t.title);
  const progress: ContinueItem[] = await ctx.api.continueWatching(ctx.profile!.profile_id).then((r) => r.items).catch(() => []);
  const mine = progress.find((p) => p.title_id === t.title_id || (t.kind === "series" && p.series_id === t.title_id));
  const playable = t.status === "READY" && t.kind !== "series";
  const actions: HTMLElement[] = [];
  if (t.kind === "series") {
    if (mine) actions.push(h("button", { class: "primary", "data-action": "resume", onclick: () => { markClick(); go("watch", [mine.title_id]); } },
      mine.episode ? `${mine.reason === "next_episode" ? "Play" : "Resume"} S${mine.episode.season} E${mine.episode.number}` : "Resume"));
  } else if (playable && mine && mine.position_s > 0) {
    actions.push(
      h("button", { class: "primary", "data-action": "resume", onclick: () => { markClick(); go("watch", [t.title_id]); } }, `Resume from ${formatTime(mine.position_s)}`),
      h("button", { "data-action": "play-start", onclick: () => { markClick(); go("watch", [t.title_id], { from: "start" }); } }, "Play from start"),
    );
  } else if (playable) {
    actions.push(h("button", { class: "primary", "data-action": "play", onclick: () => { markClick(); go("watch", [t.title_id]); } }, "Play"));
  } else if (t.kind !== "series") {
    actions.push(h("p", { class: "note" }, `Not playable yet (${t.status.toLowerCase()}).`));
  }
  const facts = [t.year, t.maturity_rating, t.duration_s ? formatTime(t.duration_s) : null, t.language?.toUpperCase()].filter(Boolean).join(" · ");
  const episodes = h("div", { class: "episodes" });
  mount(
    ctx.main,
    h("article", { class: "title-page", style: `--hue:${hue(t.title_id)}` },
      h("div", { class: "hero" }, h("h1", {}, t.title), h("p", { class: "muted" }, facts),
        h("p", { class: "description" }, t.description),
        t.genres.length ? h("p", {}, h("strong", {}, "Genres: "), t.genres.join(", ")) : null,
        t.cast.length ? h("p", {}, h("strong", {}, "Cast: "), t.cast.join(", ")) : null,
        h("div", { class: "actions" }, actions)),
      episodes),
  );
  actions[0]?.focus();
  if (t.kind === "series") {
    try {
      const page = await ctx.api.episodes(t.title_id);
      const bySeason = new Map<number, TitleView[]>();
      for (const e of page.items) bySeason.set(e.season ?? 1, [...(bySeason.get(e.season ?? 1) ?? []), e]);
      mount(episodes, h("h2", {}, "Episodes"), [...bySeason.entries()].map(([season, eps]) =>
        h("section", {}, h("h3", {}, `Season ${season}`),
          h("ol", { class: "episode-list" }, eps.map((e) => {
            const p = progress.find((x) => x.title_id === e.title_id);
            return h("li", {},
              h("button", { class: "episode", disabled: e.status !== "READY", "data-title-id": e.title_id, onclick: () => { markClick(); go("watch", [e.title_id]); } },
                h("span", { class: "ep-num" }, `E${e.number}`), h("span", {}, e.title),
                e.duration_s ? h("span", { class: "muted" }, ` ${formatTime(e.duration_s)}`) : null,
                p ? h("span", { class: "muted" }, ` · ${Math.round(p.percent)}% watched`) : null));
          })))));
      if (!actions.length) (episodes.querySelector("button.episode:not([disabled])") as HTMLElement | null)?.focus();
    } catch (e) {
      mount(episodes, h("p", { class: "error" }, describe(e)));
    }
  }
}

import { describe, type Profile } from "../api";
import type { Ctx } from "../ctx";
import { h, mount } from "../dom";
import { PROFILE_MATURITIES } from "../maturity";
import { go } from "../router";
import { setProfile } from "../store";
import { hue } from "./cards";

function choose(ctx: Ctx, p: Profile): void {
  setProfile({ profile_id: p.profile_id, name: p.name, kids: p.kids, maturity_rating: p.maturity_rating });
  ctx.refreshHeader();
  go("home");
}

function editor(ctx: Ctx, existing: Profile | null, done: () => void): HTMLElement {
  const name = h("input", { name: "name", required: true, maxlength: 50, value: existing?.name ?? "" });
  const kids = h("input", { type: "checkbox", name: "kids" });
  kids.checked = existing?.kids ?? false;
  const maturity = h("select", { name: "maturity" }, PROFILE_MATURITIES.map((m) => h("option", { value: m, selected: (existing?.maturity_rating ?? "18+") === m }, m)));
  const language = h("input", { name: "language", value: existing?.language ?? "en", maxlength: 35 });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  kids.addEventListener("change", () => {
    if (kids.checked && !["ALL", "7+"].includes(maturity.value)) maturity.value = "7+";
  });
  const form = h(
    "form",
    {
      class: "panel narrow",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        const body = { name: name.value.trim(), kids: kids.checked, maturity_rating: maturity.value, language: language.value.trim() || "en" };
        try {
          if (existing) await ctx.api.updateProfile(existing.profile_id, body);
          else await ctx.api.createProfile(body);
          done();
        } catch (e) {
          status.textContent = describe(e);
        }
      },
    },
    h("h2", {}, existing ? `Edit ${existing.name}` : "Add a profile"),
    h("label", { class: "field" }, h("span", {}, "Name"), name),
    h("label", { class: "field check" }, kids, h("span", {}, "Kids profile (up to 7+)")),
    h("label", { class: "field" }, h("span", {}, "Maturity"), maturity),
    h("label", { class: "field" }, h("span", {}, "Language"), language),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary" }, existing ? "Save" : "Create profile"),
      h("button", { type: "button", onclick: done }, "Cancel"),
      existing ? h("button", {
        type: "button", class: "danger",
        onclick: async () => {
          try { await ctx.api.deleteProfile(existing.profile_id); done(); } catch (e) { status.textContent = describe(e); }
        },
      }, "Delete") : null),
    status,
  );
  setTimeout(() => name.focus(), 0);
  return form;
}

export async function profilesView(ctx: Ctx): Promise<void> {
  ctx.title("Who's watching?");
  mount(ctx.main, h("p", { class: "loading" }, "Loading profiles…"));
  let profiles: Profile[];
  try {
    profiles = (await ctx.api.profiles()).profiles;
  } catch (e) {
    mount(ctx.main, h("p", { class: "error" }, describe(e)));
    return;
  }
  const reload = () => void profilesView(ctx);
  const area = h("div", { class: "editor" });
  const list = h(
    "ul",
    { class: "profiles" },
    profiles.map((p) =>
      h("li", {},
        h("button", { class: "profile", "data-profile-id": p.profile_id, style: `--hue:${hue(p.profile_id)}`, onclick: () => choose(ctx, p) },
          h("span", { class: "avatar", "aria-hidden": "true" }, p.name.slice(0, 1).toUpperCase()),
          h("span", {}, p.name), p.kids ? h("span", { class: "badge" }, "Kids") : null),
        h("button", { class: "link", "aria-label": `Edit ${p.name}`, onclick: () => mount(area, editor(ctx, p, reload)) }, "Edit"),
      ),
    ),
    h("li", {}, h("button", { class: "profile add", onclick: () => mount(area, editor(ctx, null, reload)) }, h("span", { class: "avatar" }, "+"), h("span", {}, "Add profile"))),
  );
  mount(ctx.main, h("h1", {}, "Who's watching?"), list, area);
  if (profiles.length === 0) mount(area, editor(ctx, null, reload));
  else (list.querySelector("button.profile") as HTMLButtonElement | null)?.focus();
}

import { describe, type Plan } from "../api";
import type { Ctx } from "../ctx";
import { formatMoney, h, mount } from "../dom";
import { go } from "../router";
import { setAuth } from "../store";

export async function accountView(ctx: Ctx): Promise<void> {
  ctx.title("Account");
  mount(ctx.main, h("p", { class: "loading" }, "Loading…"));
  try {
    const [me, plans, sub, invoices] = await Promise.all([
      ctx.api.me(), ctx.api.plans(), ctx.api.subscription(), ctx.api.invoices().catch(() => ({ invoices: [] })),
    ]);
    const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
    const planCard = (p: Plan) => h("li", { class: `plan${p.id === sub.plan ? " current" : ""}` },
      h("h3", {}, p.name), h("p", {}, `${formatMoney(p.monthly_price_cents, p.currency)} / month`),
      h("p", { class: "muted" }, `${p.max_resolution} · ${p.max_concurrent_streams} screen${p.max_concurrent_streams > 1 ? "s" : ""} · ${p.max_profiles} profiles`),
      p.id === sub.plan ? h("span", { class: "badge" }, "Your plan")
        : h("button", { "data-plan": p.id, onclick: async () => {
          status.textContent = "Changing plan…";
          try { await ctx.api.changePlan(p.id); void accountView(ctx); } catch (e) { status.textContent = describe(e); }
        } }, `Switch to ${p.name}`));
    mount(ctx.main,
      h("h1", {}, "Account"),
      h("section", { class: "panel" }, h("h2", {}, "Membership"),
        h("p", {}, me.email), h("p", {}, "Status: ", h("strong", {}, sub.status), sub.cancel_at_period_end ? " (ends at period end)" : ""),
        h("button", { class: "link", onclick: () => { setAuth(null); ctx.refreshHeader(); go("signin"); } }, "Sign out")),
      h("section", { class: "panel" }, h("h2", {}, "Plan"), h("ul", { class: "plans" }, plans.plans.map(planCard)), status),
      h("section", { class: "panel" }, h("h2", {}, "Invoices"),
        invoices.invoices.length
          ? h("table", { class: "invoices" }, h("thead", {}, h("tr", {}, h("th", {}, "Period"), h("th", {}, "Plan"), h("th", {}, "Amount"), h("th", {}, "Status"))),
            h("tbody", {}, invoices.invoices.map((i) => h("tr", {}, h("td", {}, i.period), h("td", {}, i.plan), h("td", {}, formatMoney(i.amount_cents, i.currency)), h("td", {}, i.status)))))
          : h("p", { class: "empty" }, "No invoices yet.")),
    );
    (ctx.main.querySelector("button[data-plan]") as HTMLElement | null)?.focus();
  } catch (e) {
    mount(ctx.main, h("p", { class: "error" }, describe(e)));
  }
}

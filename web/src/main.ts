import "./style.css";
import { Api } from "./api";
import { loadConfig } from "./config";
import type { Ctx } from "./ctx";
import { h, mount } from "./dom";
import { go, href, parseHash } from "./router";
import { getAuth, getProfile, isAdmin, renewSignIn, setAuth } from "./store";
import { accountView } from "./views/account";
import { adminView } from "./views/admin";
import { signInView, signUpView } from "./views/auth";
import { continueView } from "./views/continue";
import { homeView } from "./views/home";
import { profilesView } from "./views/profiles";
import { searchView } from "./views/search";
import { titleView } from "./views/title";

type View = (ctx: Ctx) => void | Promise<void>;
const PUBLIC: Record<string, View> = { signin: signInView, signup: signUpView };
const NEEDS_PROFILE: Record<string, View> = {
  home: homeView, search: searchView, title: titleView, continue: continueView,
  // hls.js is most of the JavaScript: loaded when the viewer first presses play.
  watch: async (ctx) => (await import("./views/watch")).watchView(ctx),
};
const SIGNED_IN: Record<string, View> = { profiles: profilesView, account: accountView, admin: adminView };

const header = document.getElementById("top")!;
const main = document.getElementById("main")!;
let leaving: (() => void | Promise<void>)[] = [];

function renderHeader(): void {
  const auth = getAuth();
  const profile = getProfile();
  const link = (name: string, text: string) => h("a", { href: href(name), "data-nav": name }, text);
  mount(header, h("nav", { class: "topnav", "aria-label": "Main" },
    h("a", { href: href(auth ? "home" : "signin"), class: "brand" }, "Reelstack"),
    auth && profile ? [link("home", "Home"), link("search", "Search"), link("continue", "Continue watching")] : null,
    h("span", { class: "spacer" }),
    auth ? [isAdmin(auth.access_token) ? link("admin", "Admin") : null, link("account", "Account"),
      h("a", { href: href("profiles"), class: "who" }, profile ? profile.name : "Profiles")] : null));
}

let generation = 0;

async function route(api: Api): Promise<void> {
  const mine = ++generation;
  const previous = leaving;
  leaving = [];
  for (const fn of previous) await fn();
  // The viewer moved on again while the last screen was closing (the player ends its session):
  // the newer navigation draws; this one must not, or it would cover it.
  if (mine !== generation) return;
  const r = parseHash(location.hash);
  const auth = getAuth();
  const profile = getProfile();
  let view: View | undefined = PUBLIC[r.name] ?? SIGNED_IN[r.name] ?? NEEDS_PROFILE[r.name];
  if (!view) return go(auth ? (profile ? "home" : "profiles") : "signin");
  if (!auth && !PUBLIC[r.name]) return go("signin");
  if (auth && PUBLIC[r.name]) return go(profile ? "home" : "profiles");
  if (NEEDS_PROFILE[r.name] && !profile) view = profilesView;
  for (const a of header.querySelectorAll<HTMLElement>("[data-nav]")) {
    if (a.dataset.nav === r.name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.body.dataset.screen = r.name;
  // Each screen draws into its own container: a screen still loading when the viewer moves on
  // finishes into a detached element instead of over the next screen.
  const view_root = h("div", { class: "view" });
  main.replaceChildren(view_root);
  const ctx: Ctx = {
    api, main: view_root, route: r, profile,
    onLeave: (fn) => leaving.push(fn),
    title: (t) => { document.title = `${t} · Reelstack`; },
    refreshHeader: renderHeader,
  };
  await view(ctx);
}

async function start(): Promise<void> {
  let config;
  try {
    config = await loadConfig();
  } catch (e) {
    mount(main, h("p", { class: "error" }, `The app is not configured: ${(e as Error).message}`));
    return;
  }
  const signOut = () => {
    setAuth(null);
    renderHeader();
    go("signin");
  };
  const api: Api = new Api(config.api_url, () => getAuth()?.access_token ?? null, signOut, {
    expiresAt: () => getAuth()?.expires_at ?? null,
    renew: () => renewSignIn((token) => api.refreshTokens(token)),
  });
  renderHeader();
  window.addEventListener("hashchange", () => { renderHeader(); void route(api); });
  await route(api);
}

void start();

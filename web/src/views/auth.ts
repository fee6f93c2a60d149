import { describe } from "../api";
import type { Ctx } from "../ctx";
import { h, mount } from "../dom";
import { go, href } from "../router";
import { authFromTokens, setAuth } from "../store";

async function signIn(ctx: Ctx, email: string, password: string): Promise<void> {
  const t = await ctx.api.login(email, password);
  setAuth(authFromTokens(t, email));
  ctx.refreshHeader();
  go("profiles");
}

function field(label: string, input: HTMLInputElement | HTMLSelectElement): HTMLElement {
  return h("label", { class: "field" }, h("span", {}, label), input);
}

export function signInView(ctx: Ctx): void {
  ctx.title("Sign in");
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, autofocus: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "current-password", required: true });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const form = h(
    "form",
    {
      class: "panel narrow",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        status.textContent = "Signing in…";
        try {
          await signIn(ctx, email.value.trim(), password.value);
        } catch (e) {
          status.textContent = describe(e);
        }
      },
    },
    h("h1", {}, "Sign in"),
    field("Email", email),
    field("Password", password),
    h("button", { type: "submit", class: "primary" }, "Sign in"),
    status,
    h("p", {}, "New here? ", h("a", { href: href("signup") }, "Create an account")),
  );
  mount(ctx.main, form);
  email.focus();
}

export function signUpView(ctx: Ctx): void {
  ctx.title("Create your account");
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true });
  const password = h("input", { type: "password", name: "password", autocomplete: "new-password", required: true, minlength: 8 });
  const plan = h("select", { name: "plan" }, h("option", { value: "basic" }, "Basic"), h("option", { value: "standard", selected: true }, "Standard"), h("option", { value: "premium" }, "Premium"));
  const code = h("input", { name: "code", inputmode: "numeric", pattern: "[0-9]{6}", maxlength: 6, autocomplete: "one-time-code" });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const confirmForm = h(
    "form",
    {
      class: "panel narrow",
      hidden: true,
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        status.textContent = "Confirming…";
        try {
          await ctx.api.confirm(email.value.trim(), code.value.trim());
          await signIn(ctx, email.value.trim(), password.value);
        } catch (e) {
          status.textContent = describe(e);
        }
      },
    },
    h("h1", {}, "Check your email"),
    h("p", {}, "We sent a 6-digit code to confirm the address."),
    field("Code", code),
    h("button", { type: "submit", class: "primary" }, "Confirm and sign in"),
  );
  const signUpForm = h(
    "form",
    {
      class: "panel narrow",
      onsubmit: async (ev: Event) => {
        ev.preventDefault();
        status.textContent = "Creating the account…";
        try {
          await ctx.api.signUp(email.value.trim(), password.value, plan.value);
          signUpForm.hidden = true;
          confirmForm.hidden = false;
          status.textContent = "";
          code.focus();
        } catch (e) {
          status.textContent = describe(e);
        }
      },
    },
    h("h1", {}, "Create your account"),
    field("Email", email),
    field("Password", password),
    field("Plan", plan),
    h("button", { type: "submit", class: "primary" }, "Continue"),
    h("p", {}, "Have an account? ", h("a", { href: href("signin") }, "Sign in")),
  );
  mount(ctx.main, signUpForm, confirmForm, status);
  email.focus();
}

// What survives a reload: the sign-in tokens and the chosen profile (localStorage).
import { ApiError, type Tokens } from "./api";
export interface Auth {
  access_token: string;
  expires_at: number; // epoch ms: when the access token stops working
  email: string;
  refresh_token?: string; // renews the access token (POST /accounts/refresh) for up to 30 days
}

export interface CurrentProfile {
  profile_id: string;
  name: string;
  kids: boolean;
  maturity_rating: string;
}

const AUTH_KEY = "reelstack.auth";
const PROFILE_KEY = "reelstack.profile";

function read<T>(key: string): T | null {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

/** The sign-in, while it can still be used: its access token is valid, or it can be renewed. */
export function getAuth(now: number = Date.now()): Auth | null {
  const auth = read<Auth>(AUTH_KEY);
  return auth && (auth.expires_at > now || !!auth.refresh_token) ? auth : null;
}

/** A sign-in from the API's tokens; a renewal keeps the refresh token it had when none comes back. */
export function authFromTokens(
  t: { access_token: string; refresh_token?: string; expires_in: number },
  email: string,
  previous: Auth | null = null,
  now: number = Date.now(),
): Auth {
  // 30 s early: the clock of this device and the token's issuer differ a little.
  return { access_token: t.access_token, expires_at: now + (t.expires_in - 30) * 1000, email,
    refresh_token: t.refresh_token || previous?.refresh_token };
}

export function setAuth(auth: Auth | null): void {
  if (auth) localStorage.setItem(AUTH_KEY, JSON.stringify(auth));
  else {
    localStorage.removeItem(AUTH_KEY);
    localStorage.removeItem(PROFILE_KEY);
  }
}

/** Renews the stored sign-in with its refresh token (``refresh`` calls POST /accounts/refresh).
 *  true: renewed, or the sign-in changed meanwhile (the caller repeats with whatever is stored now);
 *  false: the session has ended (refused: sign in again); throws when the API cannot be reached
 *  or throttles (still signed in: try later). */
export async function renewSignIn(refresh: (refreshToken: string) => Promise<Tokens>): Promise<boolean> {
  const auth = getAuth();
  if (!auth?.refresh_token) return false;
  let tokens: Tokens;
  try {
    tokens = await refresh(auth.refresh_token);
  } catch (e) {
    if (e instanceof ApiError && e.status >= 400 && e.status < 500 && e.status !== 429) return false;
    throw e;
  }
  // Signed out, or someone else signed in, while the renewal was in flight: never write the old
  // sign-in (and its 30-day refresh token) back.
  const now = getAuth();
  if (now?.refresh_token !== auth.refresh_token) return now !== null;
  setAuth(authFromTokens(tokens, auth.email, auth));
  return true;
}

export function getProfile(): CurrentProfile | null {
  return read<CurrentProfile>(PROFILE_KEY);
}

export function setProfile(p: CurrentProfile | null): void {
  if (p) localStorage.setItem(PROFILE_KEY, JSON.stringify(p));
  else localStorage.removeItem(PROFILE_KEY);
}

/** The token's claims (no verification: the API verifies; the client only decides what to show). */
export function claims(token: string): Record<string, unknown> {
  try {
    const part = token.split(".")[1] ?? "";
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(part.length / 4) * 4, "="));
    return JSON.parse(json) as Record<string, unknown>;
  } catch {
    return {};
  }
}

export function isAdmin(token: string | undefined): boolean {
  if (!token) return false;
  const groups = claims(token)["cognito:groups"];
  return Array.isArray(groups) && groups.includes("admins");
}

// What survives a reload: the sign-in tokens and the chosen profile (localStorage).
export interface Auth {
  access_token: string;
  expires_at: number; // epoch ms
  email: string;
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

export function getAuth(now: number = Date.now()): Auth | null {
  const auth = read<Auth>(AUTH_KEY);
  return auth && auth.expires_at > now ? auth : null;
}

export function setAuth(auth: Auth | null): void {
  if (auth) localStorage.setItem(AUTH_KEY, JSON.stringify(auth));
  else {
    localStorage.removeItem(AUTH_KEY);
    localStorage.removeItem(PROFILE_KEY);
  }
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

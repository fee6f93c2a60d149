// The session's CDN grant in its signed-URL form, appended to every playlist and segment request
// (hls.js resolves relative URIs against the playlist URL without its query, so each request needs
// it again). Cookies would need the app and the media on one origin; the query form works across
// origins too (the local front door, CloudFront).
const SIGNING_PARAMS = ["Policy", "Signature", "Key-Pair-Id", "Expires"];

export function withGrant(url: string, query: string): string {
  if (!query) return url;
  const hashAt = url.indexOf("#");
  const base = hashAt >= 0 ? url.slice(0, hashAt) : url;
  const [path, qs = ""] = base.split("?", 2);
  const kept = new URLSearchParams(qs);
  for (const p of SIGNING_PARAMS) kept.delete(p); // a stale grant on a URL never wins over the current one
  const rest = kept.toString();
  return `${path}?${rest ? `${rest}&` : ""}${query}`;
}

/** True when the URL is on the CDN the grant covers (never send the grant elsewhere). */
export function coveredBy(url: string, resource: string): boolean {
  try {
    const u = new URL(url);
    const r = new URL(resource.replace(/\*+$/, ""));
    return u.origin === r.origin;
  } catch {
    return false;
  }
}

// Hash routes: "#/title/abc?from=start" -> { name: "title", params: ["abc"], query: {from: "start"} }.
export interface Route {
  name: string;
  params: string[];
  query: Record<string, string>;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, "");
  const [path, qs = ""] = raw.split("?", 2);
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const query: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(qs)) query[k] = v;
  return { name: parts[0] ?? "", params: parts.slice(1), query };
}

export function href(name: string, params: string[] = [], query: Record<string, string> = {}): string {
  const path = [name, ...params.map(encodeURIComponent)].join("/");
  const qs = new URLSearchParams(query).toString();
  return `#/${path}${qs ? `?${qs}` : ""}`;
}

export function go(name: string, params: string[] = [], query: Record<string, string> = {}): void {
  location.hash = href(name, params, query);
}

// Where the API is: read at start from /config.json (written beside the build by the local cloud
// and by the deployment), so the same bundle runs locally and in AWS.
export interface AppConfig {
  api_url: string;
  cdn_url?: string;
}

export async function loadConfig(fetcher: typeof fetch = fetch): Promise<AppConfig> {
  const r = await fetcher("/config.json", { cache: "no-store" });
  if (!r.ok) throw new Error(`config.json: HTTP ${r.status}`);
  const conf = (await r.json()) as Partial<AppConfig>;
  if (typeof conf.api_url !== "string" || !/^https?:\/\//.test(conf.api_url)) {
    throw new Error("config.json has no api_url");
  }
  return { api_url: conf.api_url.replace(/\/+$/, ""), cdn_url: conf.cdn_url };
}

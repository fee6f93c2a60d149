import { describe, type Api, type UploadMultipart, type UploadSingle } from "../api";
import type { Ctx } from "../ctx";
import { h, mount } from "../dom";
import { TITLE_RATINGS } from "../maturity";
import { href } from "../router";
import { partRanges, planParts, Progress } from "../upload";

function put(url: string, body: Blob, headers: Record<string, string>, onProgress: (sent: number) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", url);
    for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (ev) => onProgress(ev.loaded);
    xhr.onload = () => (xhr.status >= 200 && xhr.status < 300 ? resolve(xhr.getResponseHeader("ETag") ?? "") : reject(new Error(`upload failed: HTTP ${xhr.status}`)));
    xhr.onerror = () => reject(new Error("upload failed: network error"));
    xhr.send(body);
  });
}

/** Upload `file` for a title: one PUT, or multipart with up to 4 parts in flight. */
export async function uploadSource(api: Api, titleId: string, file: Blob, onProgress: (f: number) => void): Promise<void> {
  const parts = planParts(file.size);
  const plan = await api.startUpload(titleId, file.size, parts);
  const progress = new Progress(file.size, onProgress);
  if (!("upload_id" in plan)) {
    const single = plan as UploadSingle;
    await put(single.upload_url, file, single.headers ?? {}, (n) => progress.update(1, n));
    return;
  }
  const multi = plan as UploadMultipart;
  const ranges = partRanges(file.size, multi.parts.length);
  const etags: { part_number: number; etag: string }[] = [];
  const queue = [...multi.parts];
  const worker = async () => {
    for (let p = queue.shift(); p; p = queue.shift()) {
      const [a, b] = ranges[p.part_number - 1];
      const etag = await put(p.upload_url, file.slice(a, b), multi.headers ?? {}, (n) => progress.update(p.part_number, n));
      etags.push({ part_number: p.part_number, etag });
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  etags.sort((x, y) => x.part_number - y.part_number);
  await api.completeUpload(titleId, multi.upload_id, etags);
}

export async function adminView(ctx: Ctx): Promise<void> {
  ctx.title("Admin");
  const v = (name: string, attrs: Record<string, unknown> = {}) => h("input", { name, ...attrs });
  const title = v("title", { required: true, maxlength: 200 });
  const description = h("textarea", { name: "description", rows: 3 });
  const genres = v("genres", { placeholder: "drama, documentary" });
  const cast = v("cast", { placeholder: "Name, Name" });
  const language = v("language", { value: "en" });
  const year = v("year", { type: "number", value: new Date().getFullYear(), min: 1880, max: 2100 });
  const rating = h("select", { name: "maturity_rating" }, TITLE_RATINGS.map((r) => h("option", { value: r, selected: r === "PG" }, r)));
  const kind = h("select", { name: "kind" }, ["movie", "series", "episode"].map((k) => h("option", { value: k }, k)));
  const seriesId = v("series_id", { placeholder: "series title id (episodes)" });
  const season = v("season", { type: "number", min: 1 });
  const number = v("number", { type: "number", min: 1 });
  const file = h("input", { type: "file", name: "source", accept: "video/*" });
  const bar = h("progress", { max: 1, value: 0, "aria-label": "Upload progress" });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite" });
  const list = h("div", { class: "admin-list" });
  const field = (label: string, el: HTMLElement) => h("label", { class: "field" }, h("span", {}, label), el);

  const watchStatus = async (id: string) => {
    for (let i = 0; i < 600; i++) {
      const t = await ctx.api.title(id).catch(() => null);
      if (t) {
        status.replaceChildren(`Status: `, h("strong", { "data-status": t.status }, t.status), t.failure_reason ? ` — ${t.failure_reason}` : "");
        if (t.status === "READY") { status.append(" ", h("a", { href: href("title", [id]) }, "Open title")); void refresh(); return; }
        if (t.status === "FAILED") return;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  };
  const refresh = async () => {
    try {
      const page = await ctx.api.titles({ limit: 50 });
      mount(list, h("h2", {}, "Titles"), h("table", {}, h("tbody", {}, page.items.map((t) =>
        h("tr", {}, h("td", {}, h("a", { href: href("title", [t.title_id]) }, t.title)), h("td", {}, t.kind), h("td", {}, t.status), h("td", { class: "muted" }, t.title_id))))));
    } catch (e) {
      mount(list, h("p", { class: "error" }, describe(e)));
    }
  };
  const split = (s: string) => s.split(",").map((x) => x.trim()).filter(Boolean);
  const form = h("form", {
    class: "panel",
    onsubmit: async (ev: Event) => {
      ev.preventDefault();
      const body: Record<string, unknown> = {
        title: title.value.trim(), description: description.value, genres: split(genres.value), cast: split(cast.value),
        language: language.value.trim(), maturity_rating: rating.value, year: Number(year.value), kind: kind.value,
      };
      if (kind.value === "episode") Object.assign(body, { series_id: seriesId.value.trim(), season: Number(season.value), number: Number(number.value) });
      try {
        status.textContent = "Creating the title…";
        const { title_id } = await ctx.api.createTitle(body);
        const source = file.files?.[0];
        if (kind.value !== "series" && source) {
          status.textContent = "Uploading…";
          await uploadSource(ctx.api, title_id, source, (f) => { bar.value = f; });
        }
        void refresh();
        await watchStatus(title_id);
      } catch (e) {
        status.textContent = describe(e);
      }
    },
  },
  h("h1", {}, "Add a title"),
  field("Title", title), field("Description", description), field("Genres", genres), field("Cast", cast),
  field("Language", language), field("Year", year), field("Rating", rating), field("Kind", kind),
  field("Series id", seriesId), field("Season", season), field("Episode", number), field("Source video", file),
  h("button", { type: "submit", class: "primary" }, "Create and upload"), bar, status);
  mount(ctx.main, form, list);
  title.focus();
  void refresh();
}

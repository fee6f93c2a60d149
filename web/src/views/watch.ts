import { ApiError, type Api } from "../api";
import type { Ctx } from "../ctx";
import { h, mount } from "../dom";
import type { HeartbeatTransport, SendResult } from "../player/heartbeat";
import { Player, type LevelInfo } from "../player/player";

export function heartbeatTransport(api: Api): HeartbeatTransport {
  return {
    async send(sessionId, body, keepalive): Promise<SendResult> {
      try {
        const r = await api.heartbeat(sessionId, body, keepalive);
        return r?.stale ? "stale" : "ok";
      } catch (e) {
        if (e instanceof ApiError && (e.status === 410 || e.status === 404)) return "expired";
        return "failed";
      }
    },
  };
}

const PLAY_ERRORS: Record<number, string> = {
  402: "Your subscription needs attention before you can watch. See Account.",
  403: "This title is not available on this profile.",
  409: "Too many screens are playing on this account right now, or the title is not ready.",
};

export async function watchView(ctx: Ctx): Promise<void> {
  const titleId = ctx.route.params[0] ?? "";
  const api = ctx.api;
  const video = h("video", { class: "video", playsinline: true, controls: true, muted: true, autoplay: true, "aria-label": "Video player" });
  const quality = h("select", { class: "quality", "aria-label": "Quality", disabled: true }, h("option", { value: "-1" }, "Auto"));
  const level = h("span", { class: "level muted", "aria-live": "polite" });
  const status = h("p", { class: "status", role: "status" });
  const back = h("button", { class: "back", onclick: () => history.back() }, "← Back");
  const heading = h("h1", { class: "watch-title" }, "");
  mount(ctx.main, h("div", { class: "watch" }, h("div", { class: "watch-bar" }, back, heading, h("label", {}, "Quality ", quality), level), video, status));
  void api.title(titleId).then((t) => { heading.textContent = t.title; ctx.title(t.title); }).catch(() => undefined);

  // A session this tab left on reload is released first (its last heartbeat has landed by now).
  const previous = sessionStorage.getItem("reelstack.lastSession");
  if (previous) {
    sessionStorage.removeItem("reelstack.lastSession");
    await api.endSession(previous).catch(() => undefined);
  }
  const forward = Number(ctx.route.query.buffer ?? "") || undefined; // tests: a short buffer keeps ABR deciding
  const player = new Player({
    video,
    startSession: () => api.startSession(ctx.profile!.profile_id, titleId),
    endSession: (id) => api.endSession(id),
    transport: heartbeatTransport(api),
    fromStart: ctx.route.query.from === "start",
    forwardBufferS: forward,
    onLevels: (levels: LevelInfo[]) => {
      mount(quality, h("option", { value: "-1" }, "Auto"), [...levels].reverse().map((l) => h("option", { value: l.index }, `${l.height}p`)));
      quality.disabled = levels.length < 2;
    },
    onLevelSwitched: (i, auto) => {
      const l = player.levels[i];
      level.textContent = l ? `${l.height}p${auto ? " (auto)" : ""}` : "";
    },
    onFatal: (msg) => { status.textContent = msg; },
  });
  quality.addEventListener("change", () => player.setLevel(Number(quality.value)));
  (window as unknown as { __player: unknown }).__player = player.expose();
  ctx.onLeave(async () => {
    await player.destroy();
  });
  video.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") history.back();
  });
  try {
    await player.open();
    video.focus();
  } catch (e) {
    const code = e instanceof ApiError ? e.status : 0;
    status.textContent = PLAY_ERRORS[code] ?? (e as Error).message;
    back.focus();
  }
}

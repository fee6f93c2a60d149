import type { Api } from "./api";
import type { Route } from "./router";
import type { CurrentProfile } from "./store";

/** What a screen gets: the API, where to draw, the route, the chosen profile, and a hook to run
 *  when the viewer leaves the screen (the player ends its session there). */
export interface Ctx {
  api: Api;
  main: HTMLElement;
  route: Route;
  profile: CurrentProfile | null;
  onLeave(fn: () => void | Promise<void>): void;
  title(text: string): void;
  refreshHeader(): void;
}

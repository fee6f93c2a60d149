import { defineConfig } from "vitest/config";

// The API's address is not baked in: the app reads /config.json at start (written by the local
// cloud next to the build, and by the deployment in AWS), so one build runs everywhere.
export default defineConfig({
  base: "/",
  build: { target: "es2022", sourcemap: false, chunkSizeWarningLimit: 700 },
  test: { environment: "happy-dom", include: ["test/**/*.test.ts"] },
});

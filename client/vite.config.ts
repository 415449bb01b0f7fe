import { sveltekit } from "@sveltejs/kit/vite";
import { defineConfig } from "vite";

/**
 * `npm run dev` talks to a running server (started with `npm start`); WHISPERRR_URL overrides where.
 * The Host header is passed through unchanged (no changeOrigin) so the server sees the page's
 * own origin and its same-origin check admits uploads and sockets.
 */
const target = process.env.WHISPERRR_URL ?? "http://localhost:8080";

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    proxy: {
      "/api": { target },
      "/ws": { target, ws: true },
      "/healthz": { target },
      "/readyz": { target },
    },
  },
});

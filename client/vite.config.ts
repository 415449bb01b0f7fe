import { sveltekit } from "@sveltejs/kit/vite";
import { defineConfig } from "vite";

/** `npm run dev` talks to a running server (started with `npm start`); WHISPERRR_URL overrides where. */
const target = process.env.WHISPERRR_URL ?? "http://localhost:8080";

export default defineConfig({
  plugins: [sveltekit()],
  server: {
    proxy: {
      "/api": { target, changeOrigin: true },
      "/ws": { target, ws: true, changeOrigin: true },
      "/healthz": target,
      "/readyz": target,
    },
  },
});

import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The Core serves dist/ at "/" with an SPA fallback and the API under /api on the same origin, so the
// dev server proxies those paths to a locally running Core and the session cookie stays first-party.
const core = process.env.FABRICORE_CORE_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  base: "/",
  plugins: [react()],
  server: {
    proxy: {
      "/api": { target: core, changeOrigin: false },
      "/healthz": { target: core },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 700,
  },
});

import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// `npm run dev` (make web-dev): the console with hot reload, the API of a running
// `make run` behind the same origin (VM_GATEWAY_URL to point elsewhere).
const gateway = process.env.VM_GATEWAY_URL ?? "http://127.0.0.1:8080";

export default defineConfig({
  plugins: [react()],
  build: {
    // dist/.vite/manifest.json: what the first screen loads (scripts/size.mjs reads it).
    manifest: true,
    target: "es2022",
    chunkSizeWarningLimit: 700,
  },
  server: {
    port: 5173,
    proxy: { "/api": gateway },
  },
});

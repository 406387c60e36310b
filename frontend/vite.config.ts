/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import { fileURLToPath } from "node:url";

// The island is served by Django from static/canvas/ with fixed names
// (canvas.js, canvas.css): Django's static pipeline adds the cache-busting
// hash, so Vite must not.
const outDir = fileURLToPath(new URL("../static/canvas", import.meta.url));
const django = process.env.BATON_DJANGO_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: {
    outDir,
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    cssCodeSplit: false,
    chunkSizeWarningLimit: 900,
    rolldownOptions: {
      input: fileURLToPath(new URL("./src/main.tsx", import.meta.url)),
      output: {
        entryFileNames: "canvas.js",
        chunkFileNames: "canvas-[name].js",
        assetFileNames: (asset) =>
          (asset.names ?? []).some((n) => n.endsWith(".css")) ? "canvas.css" : "[name][extname]",
        codeSplitting: false,
      },
    },
  },
  server: {
    port: 5173,
    // Everything that is not the island itself comes from Django, so the dev
    // page shares Django's session cookie and CSRF token.
    proxy: {
      "/api": django,
      "/accounts": django,
      "/admin": django,
      "/static": django,
      "/ws": { target: django.replace(/^http/, "ws"), ws: true },
    },
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});

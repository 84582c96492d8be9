// Vite builds the page into dist/, which the gateway serves at /dashboard (api/dashboard.py).
import { defineConfig } from "vite";

export default defineConfig({
  base: "/dashboard/",
  build: { outDir: "dist", emptyOutDir: true, target: "es2022", chunkSizeWarningLimit: 1024 },
});

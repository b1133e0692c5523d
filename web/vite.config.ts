/**
 * The web UI's build: web/ → dist/web (inside the published package), served
 * by the API at / (src/api/web.ts). Hashed file names under /assets let the
 * server cache them forever; index.html is never cached.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

const root = fileURLToPath(new URL('.', import.meta.url));

/** Writes a .gz beside each text file of the build, which the server sends to browsers that accept gzip. */
function precompress(): Plugin {
  let outDir = '';
  return {
    name: 'attune-precompress',
    apply: 'build',
    configResolved(config) {
      outDir = config.build.outDir;
    },
    writeBundle(_options, bundle) {
      for (const file of ['index.html', ...Object.keys(bundle)]) {
        if (!/\.(?:html|js|css|svg|json)$/.test(file)) continue;
        const path = join(outDir, file);
        writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
      }
    },
  };
}

export default defineConfig({
  root,
  base: '/',
  plugins: [react(), precompress()],
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    assetsDir: 'assets',
    // One small app: no source maps in the package, no module preload polyfill (every supported browser has it).
    sourcemap: false,
    modulePreload: { polyfill: false },
    target: 'es2022',
  },
  server: {
    // `npx vite web` during development: the API of a running `attune up` answers /api.
    proxy: { '/api': process.env.ATTUNE_API_URL ?? 'http://127.0.0.1:8080' },
  },
});

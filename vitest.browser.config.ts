// The WebGPU kernel comparisons inside a real headless Chromium page (vitest browser mode):
// navigator.gpu there is Chromium's own Dawn on SwiftShader, a different WebGPU stack from the
// `webgpu` package the Node tests use. The package's embedded wasm gives the wasm backend in the
// same page. The system Chromium is used; nothing is downloaded. The server sends the COOP/COEP
// headers that make the page cross-origin isolated (SharedArrayBuffer: wasm threads).
import { playwright } from '@vitest/browser-playwright';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  server: {
    headers: {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
    },
  },
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    browser: {
      enabled: true,
      headless: true,
      screenshotFailures: false,
      provider: playwright({
        launchOptions: {
          executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
          args: [
            // WebGPU in headless Linux Chromium (it falls back to SwiftShader without a GPU).
            '--enable-unsafe-webgpu',
            '--no-sandbox',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
            '--no-first-run',
            '--disable-quic',
          ],
        },
      }),
      instances: [{ browser: 'chromium' }],
    },
  },
});

// Vite builds the page. The generated protobuf code lives in $JAMD_WEB_GEN_DIR (the CMake build
// dir, with its own node_modules) or src/gen (npm run build / dev in this folder); the source
// imports it as "jamd-gen/…". No imports here, so the config loads from either node_modules.
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

export default {
  root: here,
  base: '/',
  resolve: {
    alias: { 'jamd-gen': process.env.JAMD_WEB_GEN_DIR || path.join(here, 'src/gen') },
  },
  build: {
    target: 'es2022',
    sourcemap: true,
    assetsInlineLimit: 0, // the AudioWorklet must stay a file: the CSP allows no data: scripts
  },
};

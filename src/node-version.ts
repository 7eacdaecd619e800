// Imported first by each entry point, so that an unsupported Node fails at import with the version
// needed, not later with an obscure error from an API it lacks. Node 20 left support in April 2026.
const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  throw new Error(`kafkarx needs Node.js 22 or later (zstd compression needs 22.15 or later); this is Node.js ${process.versions.node}`);
}

export {};

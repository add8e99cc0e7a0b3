#!/usr/bin/env node
// The `lpacs` command. It exists before the build (npm links bins at
// install time, when dist/ is not built yet), and says what to do if the
// build is missing.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const entry = join(__dirname, '..', 'dist', 'bin.js');
if (!existsSync(entry)) {
  process.stderr.write('lpacs: not built yet; run: npm run build\n');
  process.exit(1);
}
require(entry);

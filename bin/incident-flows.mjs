#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader, so `npx incident-flows` works without a build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import('../cli/main.ts');
await runCli(process.argv.slice(2));

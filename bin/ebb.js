#!/usr/bin/env node
// Entry point for `ebb` and `kubectl-ebb`: the compiled CLI lives in dist/ (built by `npm ci`).
import { main } from '../dist/src/cli/main.js';

main(process.argv);

// Runs the CLI from source (what bin/forkpoint.js runs from dist/), so the CLI
// tests never depend on a stale build.
import { main } from '../../src/producers/cli/main.js';

await main(process.argv);

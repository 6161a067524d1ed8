// `npm start`: builds the site if dist/ is missing or older than its sources, then runs
// the production server (site + sandbox) in this process.
import { buildSiteIfNeeded } from './build-if-needed.ts';

buildSiteIfNeeded();
await import('../sandbox-server/main.ts');

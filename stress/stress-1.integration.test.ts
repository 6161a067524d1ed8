// Half 1 of the short stress run (see short-run.ts).
import { shortRun } from './short-run.ts';

shortRun(0);

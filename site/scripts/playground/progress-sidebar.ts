// Tiny entry for every page: marks finished lessons in the sidebar (no playground code loaded).
import { markSidebar } from './progress.ts';

markSidebar();

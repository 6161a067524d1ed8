// Props of <Playground>, serialized as JSON into the element's data-props attribute. The type is
// inferred from the zod schema (schema.ts), the single source of truth for what authors write.
export type { PlaygroundProps } from './schema.ts';

export const clientLabel = (index: number) => String.fromCharCode(65 + index);

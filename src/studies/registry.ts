/** The studies `edgewise reproduce` knows, by name (one module per study). */
import type { StudyDefinition } from './study.ts';

export const STUDIES: readonly StudyDefinition[] = [];

export function findStudy(name: string): StudyDefinition | undefined {
  return STUDIES.find((s) => s.name === name);
}

/** The studies `edgewise reproduce` knows, by name (one module per study). */
import type { StudyDefinition } from './study.ts';
import { eosGd } from './eos-gd.ts';
import { rotation } from './rotation.ts';
import { toyDepth } from './toy-depth.ts';
import { eosAdam } from './eos-adam.ts';
import { flatnessLr } from './flatness-lr.ts';
import { sgdBatch } from './sgd-batch.ts';
import { adamClipped } from './adam-clipped.ts';
import { warmupResnetStudy, warmupStudy } from './warmup.ts';
import { interventionsResnetStudy, interventionsStudy } from './interventions.ts';
import { catapultStudy } from './catapult.ts';
import { adamWarmupStudy } from './adam-warmup.ts';
import { depthRotation } from './depth-rotation.ts';

export const STUDIES: readonly StudyDefinition[] = [
  eosGd,
  eosAdam,
  rotation,
  toyDepth,
  flatnessLr,
  sgdBatch,
  adamClipped,
  warmupStudy,
  warmupResnetStudy,
  interventionsStudy,
  interventionsResnetStudy,
  catapultStudy,
  adamWarmupStudy,
  depthRotation,
];

export function findStudy(name: string): StudyDefinition | undefined {
  return STUDIES.find((s) => s.name === name);
}

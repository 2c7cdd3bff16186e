// Method id → CAM method object (the table lives in cam/registry.ts).
import type { BaseCam } from '../cam/base';
import { CAM_METHOD_IDS, createCam, isCamMethodId } from '../cam/registry';
import { CamLensError } from '../errors';

export function camMethod(id: string): BaseCam {
  if (!isCamMethodId(id)) throw new CamLensError('BAD_ARGUMENT', `Unknown CAM method "${id}"; choose one of ${CAM_METHOD_IDS.join(', ')}.`);
  return createCam(id);
}

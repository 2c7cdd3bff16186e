// The pictures of the panel's latest answer (the model-size image, the original photo, a clip's
// frames), kept so that the next explanation of the same image (another method, layer or class:
// the panel's usual step) asks the worker for none: a 512² picture is 0.8 MB, a photo's original
// tens of MB, each sent through the worker's answer again for nothing. They are reused only while
// the image, the model and its sidecar config are unchanged on disk (size and modification time).
import * as fs from 'node:fs';
import { sidecarPathOf } from '../../engine/image/config';
import type { ExplainAnswer } from '../../worker/protocol';

type Pictures = Pick<ExplainAnswer, 'image' | 'original' | 'frames'>;

const stamp = (file: string): string => {
  try {
    const st = fs.statSync(file);
    return `${st.size}:${st.mtimeMs}`;
  } catch {
    return 'absent';
  }
};

export class PictureReuse {
  private kept: { key: string; pictures: Pictures } | undefined;

  /** What makes the pictures of explaining `input` with `modelPath` (its sidecar config included). */
  keyOf(modelPath: string, input: string): string {
    const sidecar = sidecarPathOf(modelPath);
    return JSON.stringify([input, stamp(input), modelPath, stamp(modelPath), sidecar, stamp(sidecar)]);
  }

  /** Whether the request for `key` can go without pictures. */
  has(key: string): boolean {
    return this.kept?.key === key;
  }

  /** The answer with the kept pictures put back when it was asked for none; keeps an answer's own pictures. */
  complete(answer: ExplainAnswer, key: string, askedForNone: boolean): ExplainAnswer {
    if (askedForNone && this.kept?.key === key) {
      const { image, original, frames } = this.kept.pictures;
      return {
        ...answer,
        ...(image ? { image } : {}),
        ...(frames ? { frames } : {}),
        ...(answer.original ? { original: { ...answer.original, ...(original?.picture ? { picture: original.picture } : {}) } } : {}),
      };
    }
    this.kept = { key, pictures: { image: answer.image, original: answer.original, frames: answer.frames } };
    return answer;
  }
}

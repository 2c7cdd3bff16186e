// The pictures of the panel's latest answer (the model-size image, the original photo, a clip's
// frames), kept so that the next explanation of the same image (another method, layer or class:
// the panel's usual step) gets none from the worker: a 512² picture is 0.8 MB, a photo's original
// tens of MB, each sent through the worker's answer again for nothing. The worker says whether
// they still hold: the request names the kept pictures' identity (`picturesHeld`), and the worker,
// which stats the image for its input cache anyway, leaves them out only when its input is still
// that one (the same file on disk, model input and preprocessing config).
import type { ExplainAnswer } from '../../worker/protocol';

type Pictures = Pick<ExplainAnswer, 'image' | 'original' | 'frames'>;

export class PictureReuse {
  private kept: { identity: string; pictures: Pictures } | undefined;

  /** The request's `picturesHeld`: the identity of the pictures kept, if any. */
  get held(): string | undefined {
    return this.kept?.identity;
  }

  /** The answer with the kept pictures put back where the worker left them out; keeps an answer's own pictures. */
  complete(answer: ExplainAnswer): ExplainAnswer {
    const identity = answer.inputIdentity;
    const leftOut = !answer.image && !answer.frames;
    if (leftOut && identity !== undefined && this.kept?.identity === identity) {
      const { image, original, frames } = this.kept.pictures;
      return {
        ...answer,
        ...(image ? { image } : {}),
        ...(frames ? { frames } : {}),
        ...(answer.original ? { original: { ...answer.original, ...(original?.picture ? { picture: original.picture } : {}) } } : {}),
      };
    }
    this.kept =
      identity !== undefined && !leftOut ? { identity, pictures: { image: answer.image, original: answer.original, frames: answer.frames } } : undefined;
    return answer;
  }
}

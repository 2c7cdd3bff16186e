// Which clips a batch over a video model ([B, C, T, H, W] input) explains. One clip is, under a
// folder argument (searched recursively, each folder on its own):
//   - a folder that directly holds still frames (.png, .jpg, ...): the whole folder, read in
//     natural order like `camlens explain <folder>` (a .gif/.webp beside the stills is one of
//     its frames, as there);
//   - an animated .gif/.webp in a folder without still frames;
//   - a .npy file (a preprocessed [1, 3, T, H, W] clip).
// A file argument is one clip whatever it is (also a .txt list of frames, or one still image:
// a clip of that frame repeated). A glob selects clips by the files it matches: a matched still
// frame selects its whole folder. The frames of a clip are sampled to the model's T in the
// worker (frames.ts). Pure Node, no sharp: the extension host lists clips too.
import * as path from 'node:path';
import { CamLensError } from '../errors';
import { isAnimationFile, isStillFrameFile } from '../video/clipFiles';
import { expandArguments, toPosix, type BatchInput, type InputKind, type ListOptions } from './inputs';

const isNpy = (f: string) => path.extname(f).toLowerCase() === '.npy';

/** Whether a model input of this shape takes clips ([B, C, T, H, W]) rather than images. */
export function takesClips(shape: ReadonlyArray<number | string | null> | null | undefined): boolean {
  return shape?.length === 5;
}

/** Files found under a folder → the clips they make (folders of frames, animations, .npy). */
export function clipsOf(files: readonly string[]): string[] {
  const frameDirs = new Set(files.filter(isStillFrameFile).map((f) => path.dirname(f)));
  const clips = new Set<string>(frameDirs);
  for (const f of files) {
    if (isNpy(f) || (isAnimationFile(f) && !frameDirs.has(path.dirname(f)))) clips.add(f);
  }
  return [...clips];
}

const clips: InputKind = {
  fromGlob(arg, { root, files }, excluded) {
    const found = clipsOf(files.filter((f) => !excluded(toPosix(path.relative(root, f)), f)));
    if (!found.length)
      throw new CamLensError('BAD_ARGUMENT', `The pattern ${arg} matches no clip (a frame of a folder of frames, an animated .gif/.webp or a .npy clip).`);
    return found.map((file) => ({ file, root }));
  },
  fromFolder(folder, files, excluded) {
    const found = clipsOf(files.filter((f) => !excluded(toPosix(path.relative(folder, f)), f)));
    // A folder argument that is itself a clip is named after its folder (rel "walk", not "").
    const root = found.includes(folder) ? path.dirname(folder) : folder;
    return found.map((file) => ({ file, root }));
  },
};

/**
 * Expands folder/glob/file arguments into clips, each with its path relative to the common root
 * (the output tree mirrors it, as for images).
 */
export function listClips(args: readonly string[], options: ListOptions = {}): BatchInput[] {
  return expandArguments(args, options, clips);
}

// The CAM math: methods over a shared base, the map pipeline, layout adapters, the method table.
export * from './tensor';
export * from './layout';
export * from './postprocess';
export * from './eigen';
export * from './base';
export * from './gradcam';
export * from './hirescam';
export * from './gradcamElementwise';
export * from './gradcamPlusPlus';
export * from './xgradcam';
export * from './layercam';
export * from './eigencam';
export * from './eigengradcam';
export * from './channelRuns';
export * from './scorecam';
export * from './ablationcam';
export * from './registry';

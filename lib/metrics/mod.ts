/**
 * genlab metrics: classifier FID/KID/IS, precision/recall, likelihood helpers, feature
 * classifiers and extractors. Scores use genlab's per-dataset classifiers, not Inception:
 * they are "classifier FID/KID/IS" and comparable only with each other.
 */
export * from "./metric.ts";
export * from "./tfjs_files.ts";
export * from "./feature_classifier.ts";
export * from "./feature_extractor.ts";
export * from "./fid.ts";
export * from "./kid.ts";
export * from "./classifier_is.ts";
export * from "./precision_recall.ts";
export * from "./likelihood.ts";
export * from "./evaluate.ts";
export * from "./class_agreement.ts";

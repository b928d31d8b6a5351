#include "data/yaml_schema.h"

#include <fmt/format.h>

#include "qtune/error.h"

namespace qtune::data::yaml {

namespace {

constexpr Origin L = Origin::lpot, Q = Origin::qtune;

// Shared wording of the detection decoders.
constexpr std::string_view kScore = "keep boxes scoring above this (per class)";
constexpr std::string_view kNms = "greedy per-class NMS: IoU above this suppresses (1: no NMS)";
constexpr std::string_view kMaxDet = "best detections kept per image";
constexpr std::string_view kClassMap =
    "`coco80` maps class index 0..79 to COCO ids 1..90; `none` keeps the index";
constexpr std::string_view kSize = "output `[height, width]`, or one side for a square";
constexpr std::string_view kInterp =
    "`bilinear`, `bilinear_antialias` (= `pil_bilinear`), `nearest`, `area` or `pil_box`";

} // namespace

const std::vector<SectionDoc> &schema_sections() {
  static const std::vector<SectionDoc> s = {
      {"", "(top level)", L, "The file is one mapping with these sections."},
      {"model", "model", L, "The FP32 model to quantize."},
      {"quantization", "quantization", L, "How to calibrate and which precisions to allow."},
      {"quantization.calibration", "quantization.calibration", L,
       "The calibration data (never the evaluation images)."},
      {"op_options",
       "quantization.model_wise, quantization.optype_wise.<OpType>, "
       "quantization.op_wise.<op name>",
       L,
       "Allowed choices for one op, an op type or the whole model: the tuner searches "
       "within them. op_wise names are ONNX node names or TensorFlow node names."},
      {"tensor_options", "<op options>.weight, <op options>.activation", L,
       "Each key takes one value or a list of allowed values; the first is preferred."},
      {"quantization.recipes", "quantization.recipes", L,
       "Post-training recipes, each `true` or `false`."},
      {"evaluation", "evaluation", L, "How a model is scored and timed."},
      {"evaluation.accuracy", "evaluation.accuracy", L,
       "The accuracy evaluation the tuning goal is measured with."},
      {"evaluation.performance", "evaluation.performance", L,
       "Latency measurement (`qtune tune` objective, `qtune benchmark`)."},
      {"evaluation.performance.configs", "evaluation.performance.configs", L,
       "Instance layout of `qtune benchmark` when its command line gives none."},
      {"tuning", "tuning", L, "The accuracy-driven search."},
      {"tuning.strategy", "tuning.strategy", L, "Which search strategy."},
      {"tuning.accuracy_criterion", "tuning.accuracy_criterion", L,
       "The accuracy goal: `relative` or `absolute` loss against FP32, not both."},
      {"tuning.exit_policy", "tuning.exit_policy", L, "When the search stops."},
      {"tuning.workspace", "tuning.workspace", L,
       "Where history.jsonl, caches, the best model and report.html go."},
      {"dataloader",
       "quantization.calibration.dataloader, evaluation.accuracy.dataloader, "
       "evaluation.performance.dataloader",
       L, "A dataset and its transforms. Paths are relative to the working directory."},
      {"dataset", "<dataloader>.dataset.<Name>", L, "Exactly one dataset."},
      {"dataset.COCORaw", "<dataloader>.dataset.COCORaw", L, "COCO images and annotations."},
      {"dataset.COCORecord", "<dataloader>.dataset.COCORecord", L,
       "COCO in TFRecord files (the TF Object Detection API's layout)."},
      {"dataset.ImageFolder", "<dataloader>.dataset.ImageFolder", L,
       "One sub-folder per class (the folder order is the class index)."},
      {"dataset.ImageList", "<dataloader>.dataset.ImageList", Q,
       "A text file of `path label` lines."},
      {"dataset.MNIST", "<dataloader>.dataset.MNIST", L, "IDX files (gzip or not)."},
      {"dataset.FashionMNIST", "<dataloader>.dataset.FashionMNIST", L, "IDX files (gzip or not)."},
      {"transform", "<dataloader>.transform.<Name>", L,
       "Any number of transforms, applied in order (a mapping, or a list of one-entry "
       "mappings)."},
      {"transform.Resize", "<dataloader>.transform.Resize", L, "Resize the image."},
      {"transform.Letterbox", "<dataloader>.transform.Letterbox", Q,
       "Resize keeping the aspect ratio and pad to the size (YOLOX, NanoDet)."},
      {"transform.CenterCrop", "<dataloader>.transform.CenterCrop", L, "Crop the centre."},
      {"transform.Normalize", "<dataloader>.transform.Normalize", L,
       "(x - mean) / std per channel."},
      {"transform.Rescale", "<dataloader>.transform.Rescale", L, "Multiply by `scale`."},
      {"transform.ChannelOrder", "<dataloader>.transform.ChannelOrder", Q, "RGB or BGR."},
      {"transform.Transpose", "<dataloader>.transform.Transpose", L, "HWC -> CHW."},
      {"transform.Layout", "<dataloader>.transform.Layout", Q, "NCHW or NHWC model input."},
      {"transform.Cast", "<dataloader>.transform.Cast", L, "Element type of the model input."},
      {"metric", "evaluation.accuracy.metric.<Name>", L, "Exactly one metric."},
      {"metric.COCOmAP", "evaluation.accuracy.metric.COCOmAP", L,
       "COCO AP@[.5:.95], computed as pycocotools does (`{}` for the defaults)."},
      {"metric.topk", "evaluation.accuracy.metric.topk", L,
       "Top-k accuracy: the value is k (an integer), no keys."},
      {"metric.Accuracy", "evaluation.accuracy.metric.Accuracy", L,
       "Top-1 accuracy against class labels; no keys."},
      {"metric.Loss", "evaluation.accuracy.metric.Loss", L,
       "Mean cross-entropy against class labels (lower is better); no keys."},
      {"metric.MSE", "evaluation.accuracy.metric.MSE", L,
       "Mean squared error of the outputs (lower is better)."},
      {"metric.RMSE", "evaluation.accuracy.metric.RMSE", L, "Root of MSE (lower is better)."},
      {"metric.MAE", "evaluation.accuracy.metric.MAE", L,
       "Mean absolute error of the outputs (lower is better)."},
      {"metric.FidelityCOCOmAP", "evaluation.accuracy.metric.FidelityCOCOmAP", Q,
       "COCO AP of the model's detections scored against the FP32 model's detections "
       "as ground truth: no annotations needed."},
      {"metric.FidelityTop1", "evaluation.accuracy.metric.FidelityTop1", Q,
       "Share of samples whose top-1 class equals the FP32 model's; no keys, no labels."},
      {"metric.FidelityRelativeL2", "evaluation.accuracy.metric.FidelityRelativeL2", Q,
       "Mean ||y - y_fp32|| / ||y_fp32|| of the outputs (lower is better); no keys."},
      {"decoder", "evaluation.accuracy.postprocess.<name>", Q,
       "Exactly one detection decoder: model outputs -> COCO detections in original-image "
       "pixels (mapped back through Letterbox / Resize). Keys are checked when the YAML "
       "is read."},
      {"decoder.yolox", "postprocess.yolox", Q,
       "`[1, A, 5+C]`: grid-relative cx, cy, w, h, objectness, C class scores."},
      {"decoder.gfl", "postprocess.gfl", Q,
       "GFL / NanoDet: per stride `[cells, C]` scores + `[cells, 4*(reg_max+1)]` box bins "
       "(matched by shape), or one `[1, cells, C + 4*(reg_max+1)]` (NanoDet-Plus)."},
      {"decoder.yolov5", "postprocess.yolov5", Q,
       "Raw head per stride `[1, A, H, W, 5+C]` or `[1, A*(5+C), H, W]`, or `decoded: "
       "true` for `[1, N, 5+C]` in input pixels."},
      {"decoder.yolov8", "postprocess.yolov8", Q,
       "Anchor-free `[1, 4+C, N]` (cx, cy, w, h in input pixels, class scores)."},
      {"decoder.tf_ssd", "postprocess.tf_ssd", Q,
       "TF Object Detection API SSD raw box predictor: encodings `[1, N, 4]` and class "
       "predictions `[1, N, 1+K]` (background at 0) against multiple-grid anchors."},
      {"decoder.tf_ssd.anchor_generator", "postprocess.tf_ssd.anchor_generator", Q,
       "The `ssd_anchor_generator` keys of the model's pipeline.config, plus "
       "feature_map_sizes."},
      {"decoder.tf_ssd.box_coder", "postprocess.tf_ssd.box_coder", Q,
       "The `faster_rcnn_box_coder` scales of pipeline.config."},
      {"decoder.ssd", "postprocess.ssd", Q,
       "Stride-grid priors: `[1, P, 4]` deltas + `[1, P, C]` scores."},
      {"decoder.ssd.priors", "postprocess.ssd.priors", Q, "How the prior boxes are laid out."},
      {"decoder.tf_object_detection", "postprocess.tf_object_detection", Q,
       "The TF OD API's post-processed `num_detections`, `detection_boxes`, "
       "`detection_scores`, `detection_classes`."},
      {"decoder.boxes_scores_classes", "postprocess.boxes_scores_classes", Q,
       "`[1, N, 6]`: x1, y1, x2, y2, score, class (CenterNet)."},
  };
  return s;
}

const std::vector<KeyDoc> &schema_keys() {
  static const std::vector<KeyDoc> k = {
      {"", "version", "number", "1.0", L, "LPOT file version (read, not checked)."},
      {"", "model", "mapping", "", L, "Required."},
      {"", "device", "string", "cpu", L, "Only `cpu`."},
      {"", "quantization", "mapping", "", L, "Needed by quantize and tune."},
      {"", "evaluation", "mapping", "", L, "Needed by evaluate and tune."},
      {"", "tuning", "mapping", "", L, "Search settings; all keys have defaults."},

      {"model", "name", "string", "", L, "Name used for output files."},
      {"model", "framework", "string", "", L,
       "Required. `onnxrt_qlinearops`, `onnxrt_integerops`, `onnxrt_qdq`, `onnx`, "
       "`onnxruntime`, `tensorflow` (`pytorch`, `mxnet` are accepted names, their "
       "files are not). A preference: the file type decides the loader."},
      {"model", "path", "string", "", L,
       "Model file or folder (`--model` overrides it); relative to the working directory."},
      {"model", "inputs", "string or list", "", L,
       "TensorFlow input tensor names (default: the signature's or the Placeholders)."},
      {"model", "outputs", "string or list", "", L,
       "TensorFlow output tensor names (default: the signature's or nodes nobody reads)."},

      {"quantization", "approach", "string", "post_training_static_quant", L,
       "`post_training_static_quant` or `post_training_dynamic_quant`."},
      {"quantization", "calibration", "mapping", "", L, "Calibration data."},
      {"quantization", "model_wise", "op options", "", L, "Choices for every op."},
      {"quantization", "optype_wise", "mapping of op type -> op options", "", L,
       "Choices for one op type (e.g. `Conv`)."},
      {"quantization", "op_wise", "mapping of op name -> op options", "", L,
       "Choices for one op; e.g. `activation: {dtype: fp32}` keeps it fp32."},
      {"quantization", "recipes", "mapping", "", L, "Recipes."},

      {"quantization.calibration", "sampling_size", "integer or list", "the whole set", L,
       "Calibration samples; a list makes it a tuning dimension (tried in order)."},
      {"quantization.calibration", "dataloader", "dataloader", "", L, "Calibration images."},
      {"quantization.calibration", "iterations", "integer", "", L,
       "Accepted for LPOT files; qtune counts samples with sampling_size."},

      {"op_options", "weight", "tensor options", "", L, "Weight choices."},
      {"op_options", "activation", "tensor options", "", L, "Activation (input) choices."},

      {"tensor_options", "dtype", "string or list", "int8", L,
       "`int8`, `uint8`, `bf16`, `fp32` (`fp16` is accepted and never chosen)."},
      {"tensor_options", "scheme", "string or list", "weight sym, activation asym", L,
       "`sym` or `asym`."},
      {"tensor_options", "granularity", "string or list",
       "weight per_channel, activation "
       "per_tensor",
       L, "`per_channel` or `per_tensor`."},
      {"tensor_options", "algorithm", "string or list", "minmax", L,
       "Range algorithm: `minmax`, `kl` or `percentile`."},
      {"tensor_options", "bit", "integer", "8", L, "Only 8."},

      {"quantization.recipes", "scale_propagation_max_pooling", "bool", "true", L,
       "MaxPool output shares its input's scale."},
      {"quantization.recipes", "scale_propagation_concat", "bool", "true", L,
       "Concat inputs share one scale."},
      {"quantization.recipes", "concat_fork_own_scale", "bool", "true", Q,
       "With scale_propagation_concat: a Concat input other ops also read keeps its own "
       "scale (the Concat requantises it)."},
      {"quantization.recipes", "first_conv_or_matmul_quantization", "bool", "true", L,
       "`false` keeps the first Conv/MatMul fp32."},
      {"quantization.recipes", "last_conv_or_matmul_quantization", "bool", "true", L,
       "`false` keeps the last Conv/MatMul/Gemm (graph order) fp32."},
      {"quantization.recipes", "fast_bias_correction", "bool", "false", L,
       "Shift each conv bias by the mean output change its weight rounding causes (calibration "
       "channel means)."},
      {"quantization.recipes", "weight_correction", "bool", "false", L,
       "Not implemented: `true` is refused at load (use bias_correction)."},
      {"quantization.recipes", "bias_correction", "bool", "true", Q,
       "Per-channel bias correction from calibration data (README \"Post-training "
       "quantization recipes\")."},
      {"quantization.recipes", "depthwise_range_check", "bool", "true", Q,
       "Depthwise convs stay fp32 when their input's lower-quartile channel gets fewer "
       "than 8 levels of the per-tensor scale."},
      {"quantization.recipes", "cross_layer_equalization", "bool", "false", Q,
       "Scale channels between convs joined by nothing or a positively homogeneous "
       "activation (not across SiLU); before calibration."},
      {"quantization.recipes", "consumer_error_clipping", "bool", "false", Q,
       "Activation ranges chosen by the error at the consumer convs' outputs."},
      {"quantization.recipes", "weight_refit", "bool", "false", Q,
       "Int8 conv weights and biases refitted by least squares to the FP32 conv outputs on "
       "calibration data, in stages in graph order (after bias correction)."},
      {"quantization.recipes", "activation_equalization", "bool", "false", Q,
       "Activations that only convs read scaled per channel towards one range, the readers' "
       "weights divided back (exact in FP32); needs u8 minmax activations."},
      {"quantization.recipes", "activation_table", "bool", "false", Q,
       "An int8 conv's SiLU (x * Sigmoid(x), or x * HardSigmoid(x)) runs as a 256-entry table on "
       "its requantised output "
       "(faster, coarser: the pre-activation gets its own int8 scale)."},

      {"evaluation", "accuracy", "mapping", "", L, "Accuracy evaluation."},
      {"evaluation", "performance", "mapping", "", L, "Latency measurement."},

      {"evaluation.accuracy", "metric", "mapping", "", L, "Required: exactly one metric."},
      {"evaluation.accuracy", "dataloader", "dataloader", "", L, "Evaluation images."},
      {"evaluation.accuracy", "postprocess", "mapping", "", L,
       "Detection models: exactly one decoder (qtune's decoders, not LPOT's transforms)."},
      {"evaluation.accuracy", "configs", "mapping", "", L, "Accepted for LPOT files; no effect."},

      {"evaluation.performance", "warmup", "integer", "5", L, "Runs before timing."},
      {"evaluation.performance", "iteration", "integer", "20", L, "Timed runs per round."},
      {"evaluation.performance", "configs", "mapping", "", L, "Instances."},
      {"evaluation.performance", "dataloader", "dataloader", "", L,
       "Checked; latency runs the first calibration sample."},
      {"evaluation.performance", "postprocess", "mapping", "", L,
       "Accepted for LPOT files; latency is the model alone."},

      {"evaluation.performance.configs", "cores_per_instance", "integer", "0 (all cores)", L,
       "Threads of each `qtune benchmark` instance (pinned to its own cores)."},
      {"evaluation.performance.configs", "num_of_instance", "integer", "1", L,
       "Concurrent `qtune benchmark` instances."},
      {"evaluation.performance.configs", "inter_num_of_threads", "integer", "", L,
       "Accepted for LPOT files; no effect."},
      {"evaluation.performance.configs", "intra_num_of_threads", "integer", "", L,
       "Accepted for LPOT files; `--threads` sets qtune's threads."},
      {"evaluation.performance.configs", "kmp_blocktime", "integer", "", L,
       "Accepted for LPOT files; no effect (qtune uses GNU OpenMP)."},

      {"tuning", "strategy", "mapping", "", L, "Strategy."},
      {"tuning", "accuracy_criterion", "mapping", "relative: 0.01", L, "Accuracy goal."},
      {"tuning", "objective", "string", "performance", L,
       "`performance` (latency), `modelsize` or `footprint` (both: model bytes)."},
      {"tuning", "exit_policy", "mapping", "", L, "Stop rules."},
      {"tuning", "random_seed", "integer", "1978", L, "Seed of the random strategy and bootstrap."},
      {"tuning", "tensorboard", "bool", "false", L, "Accepted for LPOT files; no effect."},
      {"tuning", "workspace", "mapping", "", L, "Workspace."},
      {"tuning", "diagnosis", "bool", "false", L,
       "Accepted for LPOT files; see report.html instead."},

      {"tuning.strategy", "name", "string", "sensitivity", L,
       "`basic`, `sensitivity`, `mse`, `random` or `exhaustive` (LPOT's default is basic)."},
      {"tuning.strategy", "accuracy_weight", "number", "", L,
       "Accepted for LPOT files; no effect."},
      {"tuning.strategy", "latency_weight", "number", "", L, "Accepted for LPOT files; no effect."},

      {"tuning.accuracy_criterion", "relative", "number", "0.01", L,
       "Allowed loss as a fraction of the FP32 value."},
      {"tuning.accuracy_criterion", "absolute", "number", "", L,
       "Allowed loss in metric units (required for error metrics that are 0 for FP32)."},
      {"tuning.accuracy_criterion", "higher_is_better", "bool", "the metric's", L,
       "Direction of the metric."},
      {"tuning.accuracy_criterion", "confidence", "number in (0, 1)", "", Q,
       "Accept a plan only when the upper end of its paired-bootstrap loss interval at "
       "this confidence is within the goal (e.g. 0.9)."},

      {"tuning.exit_policy", "timeout", "number (seconds)", "0", L,
       "0: stop at the first plan that meets the goal; > 0: keep searching for a faster "
       "one until then."},
      {"tuning.exit_policy", "max_trials", "integer", "100", L, "Most trials."},
      {"tuning.exit_policy", "performance_only", "bool", "false", L,
       "Quantize once with the preferred choices, measure latency, evaluate no accuracy."},

      {"tuning.workspace", "path", "string", "./qtune_workspace", L,
       "Folder (`--workspace` overrides it)."},
      {"tuning.workspace", "resume", "bool", "false", L,
       "Reuse every trial recorded in the history (`--resume`)."},

      {"dataloader", "batch_size", "integer", "1", L, "Samples per batch."},
      {"dataloader", "dataset", "mapping", "", L, "Required: exactly one dataset."},
      {"dataloader", "transform", "mapping or list", "", L, "Transforms, in order."},
      {"dataloader", "filter", "null", "", L, "Only empty: dataset filters are refused."},
      {"dataloader", "last_batch", "string", "", L,
       "`rollover` or `no_rollover`; qtune always keeps the last partial batch."},
      {"dataloader", "shuffle", "bool", "", L, "Accepted for LPOT files; qtune reads in order."},
      {"dataloader", "distributed", "bool", "", L, "Accepted for LPOT files; no effect."},
      {"dataloader", "skip_bad_images", "bool", "false", Q,
       "Skip undecodable images with a warning instead of failing."},

      {"dataset.COCORaw", "root", "string", "", L, "Folder holding img_dir and anno_dir."},
      {"dataset.COCORaw", "img_dir", "string", "val2017", L, "Image folder, under root."},
      {"dataset.COCORaw", "anno_dir", "string or null", "annotations/instances_val2017.json", L,
       "Annotation JSON, under root; `null` reads the images without annotations."},
      {"dataset.COCORecord", "root", "string", "", L, "TFRecord file or glob; required."},
      {"dataset.ImageFolder", "root", "string", "", L, "Folder; required."},
      {"dataset.ImageList", "list", "string", "", Q, "List file; required."},
      {"dataset.ImageList", "root", "string", "the list's folder", Q, "Base of the paths."},
      {"dataset.MNIST", "images", "string", "", Q, "IDX image file; required."},
      {"dataset.MNIST", "labels", "string", "", Q, "IDX label file; required."},
      {"dataset.FashionMNIST", "images", "string", "", Q, "IDX image file; required."},
      {"dataset.FashionMNIST", "labels", "string", "", Q, "IDX label file; required."},

      {"transform.Resize", "size", "integer or [h, w]", "", L, kSize},
      {"transform.Resize", "interpolation", "string", "bilinear", L, kInterp},
      {"transform.Resize", "keep_ratio", "bool", "false", Q,
       "Scale the short side to size, keeping the aspect ratio."},
      {"transform.Resize", "mode", "string", "half_pixel", Q,
       "Coordinates: `half_pixel`, `tf_legacy` (TF1 resize) or `align_corners`."},
      {"transform.Letterbox", "size", "integer or [h, w]", "", Q, kSize},
      {"transform.Letterbox", "pad_value", "number", "114", Q, "Padding value."},
      {"transform.Letterbox", "position", "string", "top_left", Q, "`top_left` or `center`."},
      {"transform.Letterbox", "interpolation", "string", "bilinear", Q, kInterp},
      {"transform.CenterCrop", "size", "integer or [h, w]", "", L, kSize},
      {"transform.Normalize", "mean", "number or list", "0", L, "Per-channel mean."},
      {"transform.Normalize", "std", "number or list", "1", L, "Per-channel std (no 0)."},
      {"transform.Rescale", "scale", "number", "1/255", Q, "Factor."},
      {"transform.ChannelOrder", "order", "string", "RGB", Q, "`RGB` or `BGR`."},
      {"transform.Transpose", "perm", "list", "", L, "`[2, 0, 1]` (HWC -> CHW) or `[0, 1, 2]`."},
      {"transform.Layout", "layout", "string", "NCHW", Q, "`NCHW` or `NHWC`."},
      {"transform.Cast", "dtype", "string", "float32", L, "`float32` or `uint8`."},

      {"metric.COCOmAP", "anno_path", "string", "the dataset's annotations", L,
       "Ground-truth JSON."},
      {"metric.COCOmAP", "category_ids", "list of integers", "all", Q,
       "Score only these COCO categories (e.g. `[1, 17, 18]`)."},
      {"metric.COCOmAP", "map_key", "string", "", L,
       "Accepted for LPOT files; qtune reports AP@[.5:.95]."},
      {"metric.COCOmAP", "map_points", "integer", "", L,
       "Accepted for LPOT files; qtune interpolates at 101 points like pycocotools."},
      {"metric.MSE", "compare_label", "bool", "true", L,
       "Must be `false`: compare with the FP32 model's outputs."},
      {"metric.RMSE", "compare_label", "bool", "true", L, "As MSE."},
      {"metric.MAE", "compare_label", "bool", "true", L, "As MSE."},
      {"metric.FidelityCOCOmAP", "score_threshold", "number in [0, 1)", "0.3", Q,
       "FP32 detections above this are the ground truth."},

      {"decoder.yolox", "strides", "list of integers", "[8, 16, 32]", Q, "Head strides."},
      {"decoder.yolox", "score_threshold", "number", "0.01", Q, kScore},
      {"decoder.yolox", "nms_iou", "number", "0.65", Q, kNms},
      {"decoder.yolox", "max_detections", "integer", "100", Q, kMaxDet},
      {"decoder.yolox", "class_map", "string", "coco80", Q, kClassMap},

      {"decoder.gfl", "strides", "list of integers", "[8, 16, 32]", Q, "Head strides."},
      {"decoder.gfl", "reg_max", "integer", "7", Q, "Box bins per side minus one."},
      {"decoder.gfl", "center", "string", "half_minus_one", Q,
       "Cell centre: `half_minus_one` x*s + (s-1)/2 (NanoDet-m), `half` (x+0.5)*s, "
       "`zero` x*s (NanoDet-Plus)."},
      {"decoder.gfl", "scores", "string", "probabilities", Q, "`probabilities` or `sigmoid`."},
      {"decoder.gfl", "score_threshold", "number", "0.05", Q, kScore},
      {"decoder.gfl", "nms_iou", "number", "0.6", Q, kNms},
      {"decoder.gfl", "max_detections", "integer", "100", Q, kMaxDet},
      {"decoder.gfl", "pre_nms_top_k", "integer", "1000", Q, "Best cells kept per level."},
      {"decoder.gfl", "class_map", "string", "coco80", Q, kClassMap},

      {"decoder.yolov5", "strides", "list of integers", "[8, 16, 32]", Q, "Head strides."},
      {"decoder.yolov5", "anchors", "list of lists", "the COCO P3-P5 anchors", Q,
       "Anchor w, h pairs in pixels, one list per stride."},
      {"decoder.yolov5", "decoded", "bool", "false", Q,
       "`true` for exports giving `[1, N, 5+C]` boxes in input pixels."},
      {"decoder.yolov5", "sigmoid", "bool", "not decoded", Q, "Apply sigmoid to the scores."},
      {"decoder.yolov5", "multi_label", "bool", "true", Q,
       "Every class above the threshold (else the best one)."},
      {"decoder.yolov5", "score_threshold", "number", "0.001", Q, kScore},
      {"decoder.yolov5", "nms_iou", "number", "0.6", Q, kNms},
      {"decoder.yolov5", "max_detections", "integer", "300", Q, kMaxDet},
      {"decoder.yolov5", "class_map", "string", "coco80", Q, kClassMap},

      {"decoder.yolov8", "layout", "string", "channels_first", Q,
       "`channels_first` `[1, 4+C, N]` or `channels_last` `[1, N, 4+C]`."},
      {"decoder.yolov8", "sigmoid", "bool", "false", Q, "Apply sigmoid to the scores."},
      {"decoder.yolov8", "multi_label", "bool", "true", Q,
       "Every class above the threshold (else the best one)."},
      {"decoder.yolov8", "score_threshold", "number", "0.001", Q, kScore},
      {"decoder.yolov8", "nms_iou", "number", "0.7", Q, kNms},
      {"decoder.yolov8", "max_detections", "integer", "300", Q, kMaxDet},
      {"decoder.yolov8", "class_map", "string", "coco80", Q, kClassMap},

      {"decoder.tf_ssd", "anchor_generator", "mapping", "", Q, "Required."},
      {"decoder.tf_ssd", "box_coder", "mapping", "", Q, "Box decoding scales."},
      {"decoder.tf_ssd", "scores", "string", "sigmoid", Q, "`sigmoid` or `softmax`."},
      {"decoder.tf_ssd", "logit_scale", "number", "1", Q, "Logits are divided by this."},
      {"decoder.tf_ssd", "score_threshold", "number", "1e-8", Q, kScore},
      {"decoder.tf_ssd", "nms_iou", "number", "0.6", Q, kNms},
      {"decoder.tf_ssd", "max_detections", "integer", "100", Q, kMaxDet},
      {"decoder.tf_ssd", "label_map", "mapping or file", "", Q,
       "1-based label -> COCO id, inline or a YAML/JSON file; labels left out are dropped."},
      {"decoder.tf_ssd.anchor_generator", "num_layers", "integer", "6", Q, "Feature maps."},
      {"decoder.tf_ssd.anchor_generator", "min_scale", "number", "0.2", Q, "Smallest scale."},
      {"decoder.tf_ssd.anchor_generator", "max_scale", "number", "0.95", Q, "Largest scale."},
      {"decoder.tf_ssd.anchor_generator", "scales", "list of numbers", "", Q,
       "Explicit per-layer scales (override min/max)."},
      {"decoder.tf_ssd.anchor_generator", "aspect_ratios", "list of numbers",
       "[1, 2, 0.5, 3, 0.3333]", Q, "Box aspect ratios."},
      {"decoder.tf_ssd.anchor_generator", "interpolated_scale_aspect_ratio", "number", "1", Q,
       "Extra box between two scales (0: none)."},
      {"decoder.tf_ssd.anchor_generator", "reduce_boxes_in_lowest_layer", "bool", "true", Q,
       "Three boxes on the first layer, as the TF OD API."},
      {"decoder.tf_ssd.anchor_generator", "base_anchor_height", "number", "1", Q, "Base height."},
      {"decoder.tf_ssd.anchor_generator", "base_anchor_width", "number", "1", Q, "Base width."},
      {"decoder.tf_ssd.anchor_generator", "height_stride", "list of numbers", "", Q,
       "Per-layer stride in pixels (default: 1/grid)."},
      {"decoder.tf_ssd.anchor_generator", "width_stride", "list of numbers", "", Q,
       "Per-layer stride in pixels."},
      {"decoder.tf_ssd.anchor_generator", "height_offset", "list of numbers", "", Q,
       "Per-layer centre offset in pixels."},
      {"decoder.tf_ssd.anchor_generator", "width_offset", "list of numbers", "", Q,
       "Per-layer centre offset in pixels."},
      {"decoder.tf_ssd.anchor_generator", "feature_map_sizes", "list of [h, w]", "", Q,
       "Required: one per layer, e.g. `[[19, 19], [10, 10], ...]` for 300x300."},
      {"decoder.tf_ssd.box_coder", "y_scale", "number", "10", Q, "Scale of ty."},
      {"decoder.tf_ssd.box_coder", "x_scale", "number", "10", Q, "Scale of tx."},
      {"decoder.tf_ssd.box_coder", "height_scale", "number", "5", Q, "Scale of th."},
      {"decoder.tf_ssd.box_coder", "width_scale", "number", "5", Q, "Scale of tw."},

      {"decoder.ssd", "priors", "mapping", "", Q, "Required."},
      {"decoder.ssd", "variances", "number or list", "[0.1, 0.2]", Q, "Centre and size variances."},
      {"decoder.ssd", "scores", "string", "probabilities", Q,
       "`probabilities`, `softmax` or `sigmoid`."},
      {"decoder.ssd", "background", "bool", "true", Q, "Class 0 is background."},
      {"decoder.ssd", "score_threshold", "number", "0.3", Q, kScore},
      {"decoder.ssd", "nms_iou", "number", "0.45", Q, kNms},
      {"decoder.ssd", "max_detections", "integer", "200", Q, kMaxDet},
      {"decoder.ssd", "class_map", "string", "none", Q, kClassMap},
      {"decoder.ssd.priors", "strides", "list of integers", "", Q, "Grid strides; required."},
      {"decoder.ssd.priors", "min_sizes", "list of lists", "", Q,
       "Box sizes in pixels, one list per stride; required."},

      {"decoder.tf_object_detection", "score_threshold", "number", "0", Q, kScore},
      {"decoder.tf_object_detection", "max_detections", "integer", "100", Q, kMaxDet},
      {"decoder.tf_object_detection", "label_offset", "integer", "0", Q,
       "Added to each class id (not with label_map)."},
      {"decoder.tf_object_detection", "label_map", "mapping or file", "", Q,
       "Model class id -> COCO id, inline or a YAML/JSON file; ids left out are dropped."},

      {"decoder.boxes_scores_classes", "score_threshold", "number", "0", Q, kScore},
      {"decoder.boxes_scores_classes", "nms_iou", "number", "1", Q, kNms},
      {"decoder.boxes_scores_classes", "max_detections", "integer", "100", Q, kMaxDet},
      {"decoder.boxes_scores_classes", "normalized", "bool", "false", Q,
       "Boxes in 0..1 instead of input pixels."},
      {"decoder.boxes_scores_classes", "class_map", "string", "coco80", Q, kClassMap},
  };
  return k;
}

std::vector<std::string> keys_of(std::string_view section) {
  bool found = false;
  for (const SectionDoc &s : schema_sections())
    found = found || s.section == section;
  if (!found)
    throw Error(fmt::format("YAML schema: no section '{}'", section));
  std::vector<std::string> out;
  for (const KeyDoc &k : schema_keys())
    if (k.section == section)
      out.emplace_back(k.key);
  return out;
}

std::vector<std::string> names_under(std::string_view prefix) {
  std::vector<std::string> out;
  for (const SectionDoc &s : schema_sections()) {
    std::string_view name = s.section;
    if (name.size() > prefix.size() + 1 && name.substr(0, prefix.size()) == prefix &&
        name[prefix.size()] == '.' && name.find('.', prefix.size() + 1) == std::string_view::npos)
      out.emplace_back(name.substr(prefix.size() + 1));
  }
  return out;
}

namespace {

// Table cells hold no '|' and no line break.
std::string cell(std::string_view text) {
  std::string out;
  for (char c : text)
    out += c == '|' ? std::string("\\|") : std::string(1, c);
  return out.empty() ? "" : out;
}

} // namespace

std::string reference_markdown() {
  std::string md =
      "# qtune YAML reference\n\n"
      "Generated from the schema in `src/data/yaml_schema.cpp` by `qtune config "
      "--reference`; the loaders accept exactly these keys (anything else fails with the "
      "file, line and a did-you-mean), and a test fails when this page differs from the "
      "schema. Origin `LPOT` = an Intel LPOT 1.x key, `qtune` = an extension. A key of an "
      "LPOT section that says \"accepted for LPOT files\" is type-checked and has no effect.\n";
  for (const SectionDoc &s : schema_sections()) {
    md += fmt::format("\n## {}\n\nAt `{}`{}. {}\n", s.section.empty() ? "top level" : s.section,
                      s.where, s.origin == Origin::qtune ? " (qtune)" : "", s.description);
    const std::vector<std::string> keys = keys_of(s.section);
    if (keys.empty())
      continue;
    md += "\n| key | type | default | origin | meaning |\n|---|---|---|---|---|\n";
    for (const KeyDoc &k : schema_keys())
      if (k.section == s.section)
        md += fmt::format("| `{}` | {} | {} | {} | {} |\n", k.key, cell(k.type),
                          k.default_value.empty() ? "" : "`" + cell(k.default_value) + "`",
                          k.origin == Origin::lpot ? "LPOT" : "qtune", cell(k.description));
  }
  return md;
}

} // namespace qtune::data::yaml

#pragma once
// Everything a qtune user needs: models, calibration data sources, metrics and
// the accuracy-driven quantization entry point.
#include "qtune/coco.h"
#include "qtune/data.h"
#include "qtune/dataloader.h"
#include "qtune/decoder.h"
#include "qtune/error.h"
#include "qtune/metric.h"
#include "qtune/metrics.h"
#include "qtune/model.h"
#include "qtune/quantization.h"
#include "qtune/tensor.h"
#include "qtune/tune_summary.h"
#include "qtune/version.h"

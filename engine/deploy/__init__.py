"""Deployment: int8 models, a model folder any machine can serve, and the prediction server.

- :mod:`engine.deploy.quantize` (``export --format onnx-int8``): ONNX Runtime static
  quantization, with the blocks flagged before (:mod:`engine.deploy.int8_blocks`), a
  per-block sensitivity table, and fp32/int8 size, metric and latency measured at export
  (:mod:`engine.deploy.measure`, calibration and validation data from
  :mod:`engine.deploy.calibration`), all in the model card (:mod:`engine.deploy.int8_card`).
- :mod:`engine.deploy.folder`: a model folder (the ONNX model(s), ``deploy.json``, tokenizers).
- :mod:`engine.deploy.runtime` and :mod:`engine.deploy.server`: standalone files (numpy,
  onnxruntime, FastAPI; never LayerForge or torch) copied into every server folder, so the
  served model runs anywhere; :mod:`engine.deploy.bundle` writes that folder
  (``export --format server``; its requirements, Dockerfile and README from
  :mod:`engine.deploy.bundle_files`) and checks it by starting its server
  (:mod:`engine.deploy.http_check`); ``layerforge serve`` runs it.
"""

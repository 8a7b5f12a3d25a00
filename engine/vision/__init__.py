"""Vision helpers for detection: CenterNet targets and loss (``centernet``), decoding maps
into boxes with non-maximum suppression (``decode``), and COCO metrics (``coco``)."""

"""Face recognition as one consented credential among several.

Frames flow one way: detect → track → quality → liveness → align → embed → match, and the outcome is
either a person (accept), a candidate that needs a second factor, or a plain reason. Nothing here stores
anything; templates are sealed by `security.face_seal` and kept by `store.faces` and the gate's cache.
"""

import os

# OpenCV refuses to decode images above this many pixels (a decompression bomb), before allocating.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(40_000_000))
# yuface's OpenMP threads spin for a core each: beside the gate's other threads, or on a busy 2-core
# box, a 9 ms detection took 600 ms. One thread keeps it steady (set the variable to override).
os.environ.setdefault("OMP_NUM_THREADS", "1")

"""Face recognition as one consented credential among several.

Frames flow one way: detect → track → quality → liveness → align → embed → match, and the outcome is
either a person (accept), a candidate that needs a second factor, or a plain reason. Nothing here stores
anything; templates are sealed by `security.face_seal` and kept by `store.faces` and the gate's cache.
"""

import os

# OpenCV refuses to decode images above this many pixels (a decompression bomb), before allocating.
os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(40_000_000))

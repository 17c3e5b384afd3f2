"""The dlib models, loaded once per process from the `face_recognition_models` package (nothing downloads)."""

from __future__ import annotations

from functools import cache

import dlib
import face_recognition_models


@cache
def five_point_predictor() -> dlib.shape_predictor:
    return dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())


@cache
def resnet() -> dlib.face_recognition_model_v1:
    return dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())

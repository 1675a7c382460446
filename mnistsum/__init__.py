"""mnistsum: the helper package of the MNIST-sum deep-learning course.

The notebooks in ``notebooks/`` import it for everything reusable: data
loading (:mod:`mnistsum.data`), the canvas generator (:mod:`mnistsum.generator`),
Keras feeding (:mod:`mnistsum.keras_data`), the metric (:mod:`mnistsum.metrics`),
models (:mod:`mnistsum.models`), training (:mod:`mnistsum.training`), the
benchmark set (:mod:`mnistsum.benchmark`) and plots (:mod:`mnistsum.plots`).
"""

import os

# Keep TensorFlow's C++ start-up chatter out of notebooks and test logs.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

__version__ = "0.1.0"

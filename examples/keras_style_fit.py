"""The Keras-style API on a glassnet model: compile, fit, evaluate, predict, save, load.

Any ``nn.Module`` has ``compile``/``fit``/``evaluate``/``predict``. ``fit`` shuffles,
batches, holds out a validation split, runs callbacks (early stopping with the best weights
restored here) and returns a History whose curves ``diagnose`` reads. The trained weights go
to a safetensors file (no pickle) and load into a fresh model.

Run: python examples/keras_style_fit.py   (about 3 s on 2 cores)
"""

import os
import tempfile

import numpy as np

import glassnet as gn
from glassnet import nn, optim
from glassnet.data.datasets import load_digits
from glassnet.diagnostics.verdicts import describe, diagnose
from glassnet.train import EarlyStopping


def make_model():
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.2), nn.Linear(128, 10))


gn.manual_seed(0)
(x_train, y_train), (x_test, y_test) = load_digits()
model = make_model()
model.compile(
    optimizer=optim.Adam(model.parameters(), lr=3e-3), loss="cross_entropy", metrics=["accuracy"]
)  # or optimizer="adam" for the defaults
history = model.fit(
    x_train,
    y_train,
    epochs=50,
    batch_size=32,
    validation_split=0.1,
    callbacks=[EarlyStopping(patience=5, restore_best_weights=True)],
    verbose=2,  # one line per epoch; 1 draws a progress bar in a terminal
)
print(f"trained {len(history.history['loss'])} epochs")
print(describe(diagnose(history.history)))

scores = model.evaluate(x_test, y_test)
print(f"test loss {scores['loss']:.4f}  test accuracy {scores['accuracy']:.3f}")

probabilities = model.predict(x_test[:5])  # (5, 10) logits as a NumPy array
print("predicted", probabilities.argmax(axis=1), "true", y_test[:5])

path = os.path.join(tempfile.mkdtemp(prefix="glassnet-"), "digits.safetensors")
gn.save_checkpoint(
    path, model, epoch=len(history.history["loss"]), test_accuracy=scores["accuracy"]
)
restored = make_model()
checkpoint = gn.load_checkpoint(path, restored)
same = np.array_equal(restored.predict(x_test), model.predict(x_test))
print(
    f"reloaded from {os.path.basename(path)} (epoch {checkpoint.metadata['epoch']}): "
    f"same predictions {same}"
)

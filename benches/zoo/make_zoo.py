#!/usr/bin/env python3
"""Train snncc's MNIST model zoo: small Keras CNNs/MLPs that are NOT the
bundled examples, to check that conversion holds up across architectures.

Run from anywhere (Python only makes the models; snncc never runs Python):
    python3 -m venv /tmp/snncc-venv
    /tmp/snncc-venv/bin/pip install -r examples/requirements.txt
    /tmp/snncc-venv/bin/python benches/zoo/make_zoo.py            # all models
    /tmp/snncc-venv/bin/python benches/zoo/make_zoo.py lenet_k3   # some models

Data and conventions are those of examples/make_examples.py: the 8,000
training digits of examples/data/mnist-train-*.gz, the 2,000 test digits of
examples/data/test-{images,labels}.npy, inputs float32 = uint8 / 255 with
shape N x 28 x 28 x 1 (snncc applies the same scaling to uint8 data).
Every model is trained with Keras 3 (Adam 1e-3 unless listed otherwise, batch 64, fixed seed, op
determinism on, one thread), then saved by ONE of three writers:
  keras   Keras 3 zip              -> models/<name>.keras
  k3.h5   Keras 3 legacy HDF5      -> models/<name>.k3.h5
  tf2.h5  tf.keras 2 (tf_keras)    -> models/<name>.tf2.h5
The saved model is freshly built and uncompiled (no optimizer state in the
file). The file is loaded back by the library that wrote it, its accuracy on
the 2,000 test digits is recorded in models/zoo.json (entries of models not
rebuilt in this run are kept).
"""
import gzip
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "examples", "data")
MODELS = os.path.join(HERE, "models")
SUFFIX = {"keras": ".keras", "k3.h5": ".k3.h5", "tf2.h5": ".tf2.h5"}


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    assert raw[0] == 0 and raw[1] == 0 and raw[2] == 0x08, path
    ndim = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(shape)


def load_data():
    x_train = read_idx(os.path.join(DATA, "mnist-train-images-idx3-ubyte.gz"))
    y_train = read_idx(os.path.join(DATA, "mnist-train-labels-idx1-ubyte.gz"))
    x_test = np.load(os.path.join(DATA, "test-images.npy"))
    y_test = np.load(os.path.join(DATA, "test-labels.npy"))
    assert x_train.shape == (8000, 28, 28) and x_test.shape == (2000, 28, 28)
    scale = lambda x: (x.astype(np.float32) / 255.0)[..., None]  # noqa: E731
    return scale(x_train), y_train.astype(np.int64), scale(x_test), y_test.astype(np.int64)


# ---------------------------------------------------------------- models
# Each builder takes the Keras module (keras or tf_keras) so the same
# architecture can be rebuilt by the writer that saves it.

def lenet_k3(K):
    L = K.layers
    return K.Sequential([
        K.Input((28, 28, 1), name="input"),
        L.Conv2D(6, 5, activation="relu", name="conv1"),
        L.MaxPooling2D(2, name="pool1"),
        L.Conv2D(16, 5, activation="relu", name="conv2"),
        L.MaxPooling2D(2, name="pool2"),
        L.Flatten(name="flatten"),
        L.Dense(120, activation="relu", name="fc1"),
        L.Dense(84, activation="relu", name="fc2"),
        L.Dense(10, activation="softmax", name="fc3"),
    ], name="lenet_k3")


def vgg_bnpre(K):
    L = K.layers
    return K.Sequential([
        K.Input((28, 28, 1), name="input"),
        L.Conv2D(12, 3, padding="same", use_bias=False, name="conv1"),
        L.BatchNormalization(name="bn1"),
        L.ReLU(name="relu1"),
        L.Conv2D(12, 3, padding="same", use_bias=False, name="conv2"),
        L.BatchNormalization(name="bn2"),
        L.ReLU(name="relu2"),
        L.MaxPooling2D(2, name="pool1"),
        L.Conv2D(24, 3, padding="valid", name="conv3"),
        L.BatchNormalization(name="bn3"),
        L.ReLU(name="relu3"),
        L.Conv2D(24, 3, padding="valid", name="conv4"),
        L.BatchNormalization(name="bn4"),
        L.ReLU(name="relu4"),
        L.MaxPooling2D(2, name="pool2"),
        L.Flatten(name="flatten"),
        L.Dense(64, name="fc1"),
        L.BatchNormalization(name="bn5"),
        L.ReLU(name="relu5"),
        L.Dropout(0.4, name="dropout"),
        L.Dense(10, name="fc2"),
    ], name="vgg_bnpre")


def strided_gap(K):
    L = K.layers
    x0 = K.Input((28, 28, 1), name="input")
    x = L.Conv2D(16, 3, strides=2, padding="same", activation="relu", name="conv1")(x0)
    x = L.Conv2D(32, 3, strides=2, padding="same", activation="relu", name="conv2")(x)
    x = L.Conv2D(64, 3, activation="relu", name="conv3")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    y = L.Dense(10, activation="softmax", name="fc")(x)
    return K.Model(x0, y, name="strided_gap")


def bnpost_avg(K):
    L = K.layers
    return K.Sequential([
        K.Input((28, 28, 1), name="input"),
        L.Conv2D(16, 3, padding="same", activation="relu", name="conv1"),
        L.BatchNormalization(name="bn1"),            # BN AFTER ReLU
        L.AveragePooling2D(2, name="pool1"),
        L.Conv2D(32, 3, padding="same", activation="relu", name="conv2"),
        L.BatchNormalization(name="bn2"),
        L.AveragePooling2D(2, name="pool2"),
        L.Flatten(name="flatten"),
        L.Dense(10, activation="softmax", name="fc"),
    ], name="bnpost_avg")


def _conv_bn(L, x, filters, k, stride, name, relu=True, momentum=0.99):
    x = L.Conv2D(filters, k, strides=stride, padding="same", use_bias=False,
                 name=f"{name}_conv")(x)
    x = L.BatchNormalization(momentum=momentum, name=f"{name}_bn")(x)
    if relu:
        x = L.ReLU(name=f"{name}_relu")(x)
    return x


def resnet_id(K):
    L = K.layers
    x0 = K.Input((28, 28, 1), name="input")
    m = 0.9   # BN moving statistics must keep up with lr 3e-3
    x = _conv_bn(L, x0, 16, 3, 1, "stem", momentum=m)
    for b in (1, 2):                                  # identity shortcuts
        y = _conv_bn(L, x, 16, 3, 1, f"b{b}a", momentum=m)
        y = _conv_bn(L, y, 16, 3, 1, f"b{b}b", relu=False, momentum=m)
        x = L.Add(name=f"b{b}_add")([x, y])
        x = L.ReLU(name=f"b{b}_out")(x)
    x = L.MaxPooling2D(2, name="pool")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    y = L.Dense(10, activation="softmax", name="fc")(x)
    return K.Model(x0, y, name="resnet_id")


def resnet_proj(K):
    L = K.layers
    x0 = K.Input((28, 28, 1), name="input")
    x = _conv_bn(L, x0, 16, 3, 1, "stem")
    for b, filters in ((1, 24), (2, 32)):             # 1x1 stride-2 projections
        y = _conv_bn(L, x, filters, 3, 2, f"b{b}a")
        y = _conv_bn(L, y, filters, 3, 1, f"b{b}b", relu=False)
        s = _conv_bn(L, x, filters, 1, 2, f"b{b}proj", relu=False)
        x = L.Add(name=f"b{b}_add")([s, y])
        x = L.Activation("relu", name=f"b{b}_out")(x)
    x = L.GlobalAveragePooling2D(name="gap")(x)
    y = L.Dense(10, name="fc")(x)
    return K.Model(x0, y, name="resnet_proj")


def mlp_dropout(K):
    L = K.layers
    return K.Sequential([
        K.Input((28, 28, 1), name="input"),
        L.Flatten(name="flatten"),
        L.Dense(128, activation="relu", name="fc1"),
        L.Dropout(0.3, name="drop1"),
        L.Dense(64, activation="relu", name="fc2"),
        L.Dropout(0.3, name="drop2"),
        L.Dense(10, activation="softmax", name="fc3"),
    ], name="mlp_dropout")


def wide_valid(K):
    L = K.layers
    return K.Sequential([
        K.Input((28, 28, 1), name="input"),
        L.Conv2D(32, 5, padding="valid", activation="relu", name="conv1"),
        L.MaxPooling2D(2, name="pool1"),
        L.Conv2D(32, 3, padding="valid", activation="relu", name="conv2"),
        L.MaxPooling2D(2, name="pool2"),
        L.Dropout(0.25, name="dropout"),
        L.Flatten(name="flatten"),
        L.Dense(10, activation="softmax", name="fc"),
    ], name="wide_valid")


ZOO = [
    # name, builder, writer, epochs, seed, description[, options]
    # options: lr (Adam learning rate, default 1e-3), cosine (decay it to 0
    # over the run with keras.optimizers.schedules.CosineDecay)
    ("lenet_k3", lenet_k3, "k3.h5", 10, 11,
     "Sequential LeNet with max pooling: Conv2D(6,5x5,relu) MaxPool Conv2D(16,5x5,relu) "
     "MaxPool Flatten Dense(120,relu) Dense(84,relu) Dense(10,softmax)"),
    ("vgg_bnpre", vgg_bnpre, "keras", 6, 12,
     "Sequential VGG, BN before ReLU: 2x[Conv2D(12,3x3,same,no bias) BN ReLU] MaxPool "
     "2x[Conv2D(24,3x3,valid) BN ReLU] MaxPool Flatten Dense(64) BN ReLU Dropout(0.4) Dense(10)"),
    ("strided_gap", strided_gap, "keras", 20, 13,
     "Functional, strided convs, no pooling layers: Conv2D(16,3x3,stride 2,same,relu) "
     "Conv2D(32,3x3,stride 2,same,relu) Conv2D(64,3x3,valid,relu) GlobalAveragePooling2D "
     "Dense(10,softmax)", {"lr": 3e-3, "cosine": True}),
    ("bnpost_avg", bnpost_avg, "tf2.h5", 8, 14,
     "Sequential, BN AFTER ReLU, average pooling: Conv2D(16,3x3,same,relu) BN AvgPool "
     "Conv2D(32,3x3,same,relu) BN AvgPool Flatten Dense(10,softmax)"),
    ("resnet_id", resnet_id, "k3.h5", 12, 15,
     "Functional ResNet, identity shortcuts: stem Conv2D(16,3x3,same) BN ReLU, "
     "2x[Conv BN ReLU Conv BN Add(identity) ReLU] (16 ch, 28x28, BN momentum 0.9), MaxPool "
     "GlobalAveragePooling2D Dense(10,softmax)", {"lr": 3e-3, "cosine": True}),
    ("resnet_proj", resnet_proj, "tf2.h5", 14, 16,
     "Functional ResNet, projection shortcuts: stem Conv2D(16,3x3,same) BN ReLU, "
     "2x[Conv(3x3,stride 2) BN ReLU Conv BN + Conv(1x1,stride 2) BN, Add, Activation(relu)] "
     "(24, 32 ch), GlobalAveragePooling2D Dense(10)"),
    ("mlp_dropout", mlp_dropout, "tf2.h5", 20, 17,
     "Sequential MLP: Flatten Dense(128,relu) Dropout(0.3) Dense(64,relu) Dropout(0.3) "
     "Dense(10,softmax)"),
    ("wide_valid", wide_valid, "keras", 20, 2024,
     "Sequential, valid padding: Conv2D(32,5x5,valid,relu) MaxPool Conv2D(32,3x3,valid,relu) "
     "MaxPool Dropout(0.25) Flatten Dense(10,softmax)"),
]


def save(build, weights, writer, path):
    """Rebuild the architecture with the writer's library (uncompiled: no
    optimizer state), set the trained weights and save."""
    import keras
    import tf_keras
    lib = tf_keras if writer == "tf2.h5" else keras
    model = build(lib)
    model.set_weights(weights)
    model.save(path)
    return f"tf.keras {tf_keras.__version__}" if writer == "tf2.h5" else f"keras {keras.__version__}"


def load_and_predict(writer, path, x):
    import keras
    import tf_keras
    lib = tf_keras if writer == "tf2.h5" else keras
    model = lib.models.load_model(path, compile=False)
    return model.predict(x, batch_size=256, verbose=0).astype(np.float32)


def main(argv):
    import tensorflow as tf
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_op_determinism()
    import keras

    only = set(argv)
    unknown = only - {z[0] for z in ZOO}
    if unknown:
        sys.exit(f"unknown model(s): {sorted(unknown)}; known: {[z[0] for z in ZOO]}")
    xtr, ytr, xte, yte = load_data()
    os.makedirs(MODELS, exist_ok=True)
    index_path = os.path.join(MODELS, "zoo.json")
    entries = {}
    if os.path.exists(index_path):
        with open(index_path) as f:
            entries = {m["name"]: m for m in json.load(f)["models"]}
    for name, build, writer, epochs, seed, desc, *rest in ZOO:
        opts = rest[0] if rest else {}
        lr = opts.get("lr", 1e-3)
        steps = epochs * -(-len(xtr) // 64)
        rate = keras.optimizers.schedules.CosineDecay(lr, steps) if opts.get("cosine") else lr
        if only and name not in only:
            continue
        t0 = time.time()
        keras.utils.set_random_seed(seed)
        model = build(keras)
        loss = ("sparse_categorical_crossentropy" if model.layers[-1].get_config().get("activation") == "softmax"
                else keras.losses.SparseCategoricalCrossentropy(from_logits=True))
        model.compile(optimizer=keras.optimizers.Adam(rate), loss=loss, metrics=["accuracy"])
        model.fit(xtr, ytr, epochs=epochs, batch_size=64, verbose=2)
        trained = model.predict(xte, batch_size=256, verbose=0)
        path = os.path.join(MODELS, name + SUFFIX[writer])
        writer_name = save(build, model.get_weights(), writer, path)
        y = load_and_predict(writer, path, xte)
        acc = float((y.argmax(1) == yte).mean())
        diff = float(np.abs(y - trained).max())
        secs = time.time() - t0
        print(f"{name}: {os.path.basename(path)} {os.path.getsize(path)} bytes, "
              f"test accuracy {acc:.4f}, params {model.count_params()}, "
              f"max |file - trained| {diff:.2e}, {secs:.0f} s", flush=True)
        entries[name] = {
            "name": name,
            "file": os.path.basename(path),
            "writer": writer,
            "writer_version": writer_name,
            "description": desc,
            "accuracy": acc,
            "n": int(len(yte)),
            "epochs": epochs,
            "seed": seed,
            "learning_rate": lr,
            "schedule": "cosine decay to 0" if opts.get("cosine") else "constant",
            "params": int(model.count_params()),
            "bytes": os.path.getsize(path),
            "train_seconds": round(secs, 1),
        }
    order = [z[0] for z in ZOO]
    with open(index_path, "w") as f:
        json.dump({"data": "examples/data/test-images.npy",
                   "labels": "examples/data/test-labels.npy",
                   "train": "examples/data/mnist-train-{images-idx3,labels-idx1}-ubyte.gz",
                   "scaling": "uint8 / 255",
                   "training": "Keras 3, Adam (learning_rate), batch 64, op determinism, 1 thread",
                   "models": [entries[n] for n in order if n in entries]}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

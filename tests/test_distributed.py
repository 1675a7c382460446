"""The multi-device path: load_or_train under MirroredStrategy over two logical CPU devices."""

import os
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent("""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from mnistsum.training import Recipe, load_or_train

    def build():
        model = keras.Sequential([keras.Input((128, 128, 1)), keras.layers.AveragePooling2D(32),
                                  keras.layers.Flatten(), keras.layers.Dense(1)])
        model.compile("adam", "mse")
        return model

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    model, history, trained = load_or_train("mirrored", build, Recipe(2, 16, 8, 8), verbose=0, strategy=strategy)
    assert trained and strategy.num_replicas_in_sync == 2, strategy.num_replicas_in_sync
    assert len(history["loss"]) == 2 and all(l == l for l in history["loss"])
    print("replicas", strategy.num_replicas_in_sync)
""")


def test_mirrored_strategy_over_two_logical_cpus(tmp_path):
    env = {"MNISTSUM_MODELS_DIR": str(tmp_path), "MNISTSUM_QUICK": "1"}
    run = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300,
                         env={**os.environ, **env})
    assert run.returncode == 0, run.stderr[-3000:]
    assert "replicas 2" in run.stdout
    assert (tmp_path / "mirrored-quick.keras").exists()


ZOO_SCRIPT = textwrap.dedent("""
    import sys
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from mnistsum import zoo

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    for name in sys.argv[1:]:
        trained = zoo.train(name, strategy=strategy)
        assert trained.model.distribute_strategy.num_replicas_in_sync == 2, name
        assert all(l == l for l in trained.history["loss"]), name
        print(name, "replicas", trained.model.distribute_strategy.num_replicas_in_sync)
""")


def test_zoo_models_train_under_mirrored_strategy():
    run = subprocess.run([sys.executable, "-c", ZOO_SCRIPT, "best", "digit-classifier"],
                         capture_output=True, text=True, timeout=600, env={**os.environ, "MNISTSUM_QUICK": "1"})
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout.count("replicas 2") == 2

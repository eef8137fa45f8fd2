"""A small training loop: fits y = 3x + 2 by gradient descent with the standard library alone.

Reads LEARNING_RATE and GREETING from the environment and --epochs from its arguments, logs the
loss over steps (a curve in the dashboard), and writes outputs/model.json.
"""

import argparse
import json
import os
import random
import time

from azureml.logging import get_azureml_logger  # Workbench's metrics call, unchanged

import deckrun

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--sleep", type=float, default=0.2, help="seconds to pause per epoch")
args = parser.parse_args()

logger = get_azureml_logger()
rate = float(os.environ.get("LEARNING_RATE", "0.1"))
print(os.environ.get("GREETING", "hello"), flush=True)
print(f"training for {args.epochs} epochs with learning rate {rate}")

random.seed(7)
points = [(x / 50, 3 * (x / 50) + 2 + random.uniform(-0.1, 0.1)) for x in range(50)]
w, b = 0.0, 0.0
for epoch in range(1, args.epochs + 1):
    grad_w = sum(2 * (w * x + b - y) * x for x, y in points) / len(points)
    grad_b = sum(2 * (w * x + b - y) for x, y in points) / len(points)
    w, b = w - rate * grad_w, b - rate * grad_b
    loss = sum((w * x + b - y) ** 2 for x, y in points) / len(points)
    deckrun.log("loss", loss)
    logger.log("w", w)
    print(f"epoch {epoch}: loss={loss:.4f} w={w:.3f} b={b:.3f}")
    time.sleep(args.sleep)

logger.log("Accuracy", round(max(0.0, 1.0 - loss), 4))
deckrun.log("epochs", [args.epochs, "done"])
os.makedirs("outputs", exist_ok=True)
with open("outputs/model.json", "w") as f:
    json.dump({"w": w, "b": b, "loss": loss}, f)
print("model written to outputs/model.json")
